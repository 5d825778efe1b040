-- Sync server schema. Run by `sync-server migrate` as the role that owns the
-- database. The server itself connects as `crm_app`: a plain role (no
-- superuser, no BYPASSRLS, not the owner), so row-level security applies to
-- every query it makes.
--
-- Every tenant table has tenant_id and a policy comparing it with the
-- transaction-local setting app.tenant_id (set with set_config(..., true));
-- FORCE ROW LEVEL SECURITY makes the policy bind the owner too. Unset, the
-- setting is '' and NULLIF makes the comparison NULL: no rows.

DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_app') THEN
    RAISE EXCEPTION 'role crm_app does not exist: create it first (CREATE ROLE crm_app LOGIN PASSWORD ...; no SUPERUSER, no BYPASSRLS)';
  END IF;
END $$;

CREATE FUNCTION crm_tenant() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  id uuid NOT NULL,
  email text NOT NULL,
  role text NOT NULL CHECK (role IN ('agent', 'admin')),
  team text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE devices (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  id uuid NOT NULL,
  user_id uuid NOT NULL,
  name text NOT NULL,
  cursor bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

-- Every synced row of every table. fields: the current value of each field;
-- clocks: the HLC (text form, sorts like the value) of the write that set
-- each field. scope_contact: the contact the row hangs off (its own id for a
-- contact), which decides who sees it; owner_user: for contacts, the user
-- the `owner` field names, else the creator.
CREATE TABLE rows (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  tbl text NOT NULL,
  id uuid NOT NULL,
  fields jsonb NOT NULL,
  clocks jsonb NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  seq bigint NOT NULL,
  scope_contact uuid,
  owner_user uuid,
  creator uuid NOT NULL,
  PRIMARY KEY (tenant_id, tbl, id)
);
CREATE INDEX rows_seq ON rows (tenant_id, seq);
CREATE INDEX rows_scope ON rows (tenant_id, scope_contact);
CREATE INDEX rows_policy_payments ON rows (tenant_id, ((fields->>'policy_id'))) WHERE tbl = 'payments';

-- Op ids already applied: a retried push applies nothing twice.
CREATE TABLE applied_ops (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  op_id uuid NOT NULL,
  device_id uuid NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, op_id)
);

-- Rows that left a user's view: their devices remove them at the next pull.
CREATE TABLE evictions (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  user_id uuid NOT NULL,
  tbl text NOT NULL,
  row_id uuid NOT NULL,
  seq bigint NOT NULL
);
CREATE INDEX evictions_user ON evictions (tenant_id, user_id, seq);

-- One sequence orders all changes. Writers of a tenant take that tenant's
-- lock (tenant_locks) first and hold it to commit, so within a tenant the
-- sequence numbers become visible in order and a pull cursor never skips a
-- change that commits later.
CREATE SEQUENCE change_seq;

CREATE TABLE tenant_locks (
  tenant_id uuid PRIMARY KEY REFERENCES tenants(id)
);

-- Failed logins, for rate limiting (not tenant data: the email is all that
-- is known before a login succeeds).
CREATE TABLE login_failures (
  email text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email ON login_failures (lower(email), at);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'devices', 'rows', 'applied_ops', 'evictions', 'tenant_locks'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = crm_tenant()) WITH CHECK (tenant_id = crm_tenant())', t);
  END LOOP;
END $$;
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = crm_tenant()) WITH CHECK (id = crm_tenant());

-- Before a login or a token check the tenant is not known yet. Two
-- look-up tables without tenant policies answer exactly that question
-- (email -> account and password hash; token hash -> device). crm_app has no
-- privilege on them: it reaches them only through the SECURITY DEFINER
-- functions below, each returning at most one row for an exact key. Login
-- is by email alone, so an email names one account server-wide.
CREATE TABLE credentials (
  email_lower text PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  user_id uuid NOT NULL,
  password_hash text NOT NULL
);
CREATE TABLE device_tokens (
  token_hash bytea PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  device_id uuid NOT NULL
);
CREATE INDEX device_tokens_device ON device_tokens (tenant_id, device_id);

CREATE FUNCTION crm_login_lookup(p_email text)
  RETURNS TABLE (tenant_id uuid, user_id uuid, password_hash text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT c.tenant_id, c.user_id, c.password_hash FROM credentials c WHERE c.email_lower = lower(p_email) $$;

CREATE FUNCTION crm_token_lookup(p_token_hash bytea)
  RETURNS TABLE (tenant_id uuid, device_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT t.tenant_id, t.device_id FROM device_tokens t WHERE t.token_hash = p_token_hash $$;

-- Give a device of the caller's current tenant a new token (the old one
-- stops working in the same transaction).
CREATE FUNCTION crm_set_device_token(p_device uuid, p_token_hash bytea)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ BEGIN
    IF crm_tenant() IS NULL THEN RAISE EXCEPTION 'app.tenant_id is not set'; END IF;
    DELETE FROM device_tokens WHERE tenant_id = crm_tenant() AND device_id = p_device;
    INSERT INTO device_tokens (token_hash, tenant_id, device_id) VALUES (p_token_hash, crm_tenant(), p_device);
  END $$;

REVOKE ALL ON FUNCTION crm_login_lookup(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION crm_token_lookup(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION crm_set_device_token(uuid, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_login_lookup(text), crm_token_lookup(bytea),
  crm_set_device_token(uuid, bytea), crm_tenant() TO crm_app;

GRANT SELECT ON tenants TO crm_app;
GRANT SELECT ON users TO crm_app;
GRANT SELECT, INSERT, UPDATE ON devices TO crm_app;
GRANT SELECT, INSERT, UPDATE ON rows TO crm_app;
GRANT SELECT, INSERT ON applied_ops TO crm_app;
GRANT SELECT, INSERT ON evictions TO crm_app;
GRANT SELECT, UPDATE ON tenant_locks TO crm_app;
GRANT SELECT, INSERT, DELETE ON login_failures TO crm_app;
GRANT USAGE ON SEQUENCE change_seq TO crm_app;
