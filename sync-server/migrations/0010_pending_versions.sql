-- A controlled document's newer version waiting for a second admin's
-- approval: its number (the row is in doc_versions); admins receive it.
ALTER TABLE doc_documents ADD COLUMN pending_version BIGINT;
