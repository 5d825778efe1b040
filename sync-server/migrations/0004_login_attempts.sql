-- A login attempt is counted as a failure before its password is checked
-- (under an advisory lock per email and per address, see auth.rs) and the
-- row is deleted again when the password was right: `attempt` names it.
-- Rows from before this migration have none; they only ever count.
ALTER TABLE login_failures ADD COLUMN attempt uuid;
