-- Accounts and devices managed by the tenant's admins over the API (see
-- `admin_api`): disabled accounts, one-time passwords, the app version and
-- plugin report of each device, and the audit of every admin change.

-- disabled_at: set while an admin has the account disabled (no sign-in,
-- its tokens refused). otp_expires_at: set while the password is a
-- one-time one (from an invitation or a reset) until the user sets their
-- own; otp_used_at: when it was signed in with (it works once).
ALTER TABLE users ADD COLUMN disabled_at timestamptz;
ALTER TABLE users ADD COLUMN otp_expires_at timestamptz;
ALTER TABLE users ADD COLUMN otp_used_at timestamptz;
ALTER TABLE devices ADD COLUMN app_version text;

-- A device's last report: one row per installed plugin, replaced whole.
CREATE TABLE device_plugins (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  device_id uuid NOT NULL,
  plugin_id text NOT NULL,
  version text NOT NULL,
  enabled boolean NOT NULL,
  health text NOT NULL CHECK (health IN ('ok', 'failing', 'stopped')),
  last_error text,
  reported_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, device_id, plugin_id),
  FOREIGN KEY (tenant_id, device_id) REFERENCES devices(tenant_id, id)
);
CREATE INDEX device_plugins_plugin ON device_plugins (tenant_id, plugin_id, version);

CREATE TABLE admin_audit (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  seq bigserial,
  at timestamptz NOT NULL DEFAULT now(),
  actor uuid NOT NULL,
  action text NOT NULL,
  user_id uuid,
  device_id uuid,
  detail jsonb NOT NULL,
  PRIMARY KEY (tenant_id, seq)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['device_plugins', 'admin_audit'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = crm_tenant()) WITH CHECK (tenant_id = crm_tenant())', t);
  END LOOP;
END $$;

-- The credentials stay out of the app role's reach: it sets a password of
-- its current tenant's users, reads one's hash to check it, and drops a
-- user's device tokens only through these, each bound to crm_tenant().
CREATE FUNCTION crm_add_credentials(p_email text, p_user uuid, p_hash text)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ BEGIN
    IF crm_tenant() IS NULL THEN RAISE EXCEPTION 'app.tenant_id is not set'; END IF;
    IF NOT EXISTS (SELECT 1 FROM users WHERE tenant_id = crm_tenant() AND id = p_user) THEN
      RAISE EXCEPTION 'no user % in the current tenant', p_user;
    END IF;
    INSERT INTO credentials (email_lower, tenant_id, user_id, password_hash)
      VALUES (lower(trim(p_email)), crm_tenant(), p_user, p_hash);
  END $$;

CREATE FUNCTION crm_set_password(p_user uuid, p_hash text)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ BEGIN
    IF crm_tenant() IS NULL THEN RAISE EXCEPTION 'app.tenant_id is not set'; END IF;
    UPDATE credentials SET password_hash = p_hash WHERE tenant_id = crm_tenant() AND user_id = p_user;
  END $$;

CREATE FUNCTION crm_password_hash(p_user uuid)
  RETURNS text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT c.password_hash FROM credentials c WHERE c.tenant_id = crm_tenant() AND c.user_id = p_user $$;

CREATE FUNCTION crm_drop_user_tokens(p_user uuid)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ BEGIN
    IF crm_tenant() IS NULL THEN RAISE EXCEPTION 'app.tenant_id is not set'; END IF;
    DELETE FROM device_tokens WHERE tenant_id = crm_tenant()
      AND device_id IN (SELECT id FROM devices WHERE tenant_id = crm_tenant() AND user_id = p_user);
  END $$;

REVOKE ALL ON FUNCTION crm_add_credentials(text, uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION crm_set_password(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION crm_password_hash(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION crm_drop_user_tokens(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_add_credentials(text, uuid, text), crm_set_password(uuid, text),
  crm_password_hash(uuid), crm_drop_user_tokens(uuid) TO crm_app;

GRANT INSERT, UPDATE ON users TO crm_app;
GRANT SELECT, INSERT, DELETE ON device_plugins TO crm_app;
GRANT SELECT, INSERT ON admin_audit TO crm_app;
GRANT USAGE ON SEQUENCE admin_audit_seq_seq TO crm_app;
