-- The tables every push writes (rows, applied_ops, evictions) lose their
-- foreign key to tenants. Each inserted row's key check took a KEY SHARE
-- lock on its tenant's row; with many pushes of one tenant at once those
-- locks become multixacts on one hot row, and the check ran inside the
-- tenant's write lock for every row written (measured: a quarter of a
-- push's time under that lock). The tenant of every row is still bound:
-- the server sets it from the authenticated device, and each table's
-- row-level security policy (WITH CHECK tenant_id = crm_tenant()) refuses
-- any other; tenants are never deleted.
ALTER TABLE rows DROP CONSTRAINT rows_tenant_id_fkey;
ALTER TABLE applied_ops DROP CONSTRAINT applied_ops_tenant_id_fkey;
ALTER TABLE evictions DROP CONSTRAINT evictions_tenant_id_fkey;
