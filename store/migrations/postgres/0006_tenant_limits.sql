-- A tenant's own CPU limit per execution, in milliseconds; NULL: the server's default.
ALTER TABLE tenants ADD COLUMN cpu_ms_max BIGINT;
