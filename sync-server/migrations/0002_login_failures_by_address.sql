-- Failed logins are also counted per client address (an IPv4 address or an
-- IPv6 /64, see client_addr.rs), and failures older than the window are
-- deleted on each login attempt (the index on `at` serves that).
ALTER TABLE login_failures ADD COLUMN addr text;
CREATE INDEX login_failures_addr ON login_failures (addr, at);
CREATE INDEX login_failures_at ON login_failures (at);
