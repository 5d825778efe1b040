-- Care compliance (see `compliance`): every record a device keeps, as the
-- last accepted JSON body, with the member of staff it is about (the
-- visibility rule reads it) and, for staff records, whose account it is
-- and who manages them; evidence files by chunk; a revision that moves
-- with each push; the audit of every accepted change.
CREATE TABLE comp_records (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  kind text NOT NULL,
  id text NOT NULL,
  staff_id text,
  body jsonb NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  rev bigint NOT NULL,
  user_ref uuid,
  manager_ref text,
  updated_by uuid NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, kind, id)
);
CREATE INDEX comp_records_rev ON comp_records (tenant_id, rev);
CREATE INDEX comp_records_staff ON comp_records (tenant_id, staff_id);
CREATE INDEX comp_records_user ON comp_records (tenant_id, user_ref) WHERE kind = 'staff';
CREATE INDEX comp_records_manager ON comp_records (tenant_id, manager_ref) WHERE kind = 'staff';
CREATE TABLE comp_file_chunks (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  sha256 text NOT NULL,
  n integer NOT NULL CHECK (n >= 0),
  bytes bytea NOT NULL,
  PRIMARY KEY (tenant_id, sha256, n)
);
CREATE TABLE comp_revisions (
  tenant_id uuid PRIMARY KEY REFERENCES tenants(id),
  revision bigint NOT NULL
);
CREATE TABLE comp_audit (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  seq bigserial,
  at timestamptz NOT NULL DEFAULT now(),
  actor uuid NOT NULL,
  kind text NOT NULL,
  record_id text NOT NULL,
  action text NOT NULL,
  PRIMARY KEY (tenant_id, seq)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['comp_records', 'comp_file_chunks', 'comp_revisions', 'comp_audit'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = crm_tenant()) WITH CHECK (tenant_id = crm_tenant())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON comp_records TO crm_app;
GRANT SELECT, INSERT ON comp_file_chunks TO crm_app;
GRANT SELECT, INSERT, UPDATE ON comp_revisions TO crm_app;
GRANT SELECT, INSERT ON comp_audit TO crm_app;
GRANT USAGE ON SEQUENCE comp_audit_seq_seq TO crm_app;

-- A controlled document's draft (a policy awaiting a second admin's
-- approval) is kept too; only admins are ever sent one.
ALTER TABLE doc_documents DROP CONSTRAINT doc_documents_status_check;
ALTER TABLE doc_documents ADD CONSTRAINT doc_documents_status_check
  CHECK (status IN ('draft', 'published', 'retired'));
