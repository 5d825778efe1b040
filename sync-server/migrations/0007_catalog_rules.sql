-- Who may run plugins that are not in the tenant's catalog (installed on
-- a device only): everyone, admins (the default) or no one.
ALTER TABLE catalog_revisions
  ADD COLUMN local_plugins text NOT NULL DEFAULT 'admins'
  CHECK (local_plugins IN ('everyone', 'admins', 'no_one'));

-- How many runs each device recorded of a plugin lately, and how many
-- failed (its health card reads "runs, errors").
ALTER TABLE device_plugins
  ADD COLUMN runs integer NOT NULL DEFAULT 0,
  ADD COLUMN errors integer NOT NULL DEFAULT 0;

-- The role templates a package's manifest suggests (name and
-- permissions), kept at publish so admins see them beside the grants.
ALTER TABLE catalog_packages
  ADD COLUMN role_templates jsonb NOT NULL DEFAULT '[]';

-- Its settings form without the secrets (key, label, type, choices), so
-- admins can give defaults without the package at hand.
ALTER TABLE catalog_packages
  ADD COLUMN setting_fields jsonb NOT NULL DEFAULT '[]';
