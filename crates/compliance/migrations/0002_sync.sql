-- Sync with the agency's server (`sync.rs`): records deleted here and not
-- yet sent, records the server refused (kept, with the reason), and the
-- revision and view of the last pull.
CREATE TABLE compliance_tombstones (kind TEXT NOT NULL, id TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (kind, id)) STRICT;
CREATE TABLE compliance_set_aside (kind TEXT NOT NULL, id TEXT NOT NULL, reason TEXT NOT NULL,
  body TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (kind, id)) STRICT;
CREATE TABLE compliance_sync (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;
