-- The tenant's documents library (see `documents`): each file once, in
-- chunks (an upload or download resumes by chunk); every version of every
-- document an admin published; one row per document naming its version in
-- force, status and audience; the audit of every change; and a revision
-- that moves with each change so a device that is up to date is answered
-- "unchanged".
CREATE TABLE doc_file_chunks (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  sha256 text NOT NULL,
  n integer NOT NULL CHECK (n >= 0),
  bytes bytea NOT NULL,
  PRIMARY KEY (tenant_id, sha256, n)
);
CREATE TABLE doc_versions (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  doc_id text NOT NULL,
  version bigint NOT NULL,
  file_name text NOT NULL,
  sha256 text NOT NULL,
  size bigint NOT NULL,
  change_note text,
  uploaded_by uuid NOT NULL,
  uploaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, doc_id, version)
);
CREATE TABLE doc_documents (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  id text NOT NULL,
  title text NOT NULL,
  status text NOT NULL CHECK (status IN ('published', 'retired')),
  audience jsonb NOT NULL,
  owner text,
  effective_date text,
  review_date text,
  version bigint NOT NULL,
  updated_by uuid NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE TABLE doc_audit (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  seq bigserial,
  at timestamptz NOT NULL DEFAULT now(),
  actor uuid NOT NULL,
  doc_id text NOT NULL,
  action text NOT NULL,
  detail jsonb NOT NULL,
  PRIMARY KEY (tenant_id, seq)
);
CREATE TABLE doc_revisions (
  tenant_id uuid PRIMARY KEY REFERENCES tenants(id),
  revision bigint NOT NULL
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['doc_file_chunks', 'doc_versions', 'doc_documents', 'doc_audit', 'doc_revisions'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = crm_tenant()) WITH CHECK (tenant_id = crm_tenant())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT ON doc_file_chunks TO crm_app;
GRANT SELECT, INSERT ON doc_versions TO crm_app;
GRANT SELECT, INSERT, UPDATE ON doc_documents TO crm_app;
GRANT SELECT, INSERT ON doc_audit TO crm_app;
GRANT USAGE ON SEQUENCE doc_audit_seq_seq TO crm_app;
GRANT SELECT, INSERT, UPDATE ON doc_revisions TO crm_app;
