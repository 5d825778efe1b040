-- The tenant's plugin catalog (see `catalog`): the publishers the tenant
-- trusts, every version of every package an admin published, one policy
-- per plugin, the audit of every change, and a revision that moves with
-- each change so a device that is up to date is answered "unchanged".
CREATE TABLE catalog_publishers (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  public_key text NOT NULL,
  name text NOT NULL,
  added_by uuid NOT NULL,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, public_key)
);
CREATE TABLE catalog_packages (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  plugin_id text NOT NULL,
  version text NOT NULL,
  name text NOT NULL,
  package bytea NOT NULL,
  sha256 text NOT NULL,
  signer text NOT NULL,
  permissions jsonb NOT NULL,
  uploaded_by uuid NOT NULL,
  uploaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, plugin_id, version)
);
CREATE TABLE catalog_policies (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  plugin_id text NOT NULL,
  mode text NOT NULL CHECK (mode IN ('allowed', 'force_installed', 'blocked', 'removed')),
  pinned_version text,
  min_version text,
  grants jsonb NOT NULL DEFAULT '[]',
  settings jsonb NOT NULL DEFAULT '{}',
  audience jsonb NOT NULL DEFAULT '{"everyone": true}',
  reason text,
  updated_by uuid NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, plugin_id)
);
CREATE TABLE catalog_audit (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  seq bigserial,
  at timestamptz NOT NULL DEFAULT now(),
  actor uuid NOT NULL,
  plugin_id text,
  action text NOT NULL,
  detail jsonb NOT NULL,
  PRIMARY KEY (tenant_id, seq)
);
CREATE TABLE catalog_revisions (
  tenant_id uuid PRIMARY KEY REFERENCES tenants(id),
  revision bigint NOT NULL
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['catalog_publishers', 'catalog_packages', 'catalog_policies', 'catalog_audit', 'catalog_revisions'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = crm_tenant()) WITH CHECK (tenant_id = crm_tenant())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON catalog_publishers TO crm_app;
GRANT SELECT, INSERT ON catalog_packages TO crm_app;
GRANT SELECT, INSERT, UPDATE ON catalog_policies TO crm_app;
GRANT SELECT, INSERT ON catalog_audit TO crm_app;
GRANT USAGE ON SEQUENCE catalog_audit_seq_seq TO crm_app;
GRANT SELECT, INSERT, UPDATE ON catalog_revisions TO crm_app;
