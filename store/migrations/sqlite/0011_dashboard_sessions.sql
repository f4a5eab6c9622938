-- Dashboard sign-ins. The browser holds a random session secret in an HttpOnly cookie; only its
-- SHA-256 is stored, as for API tokens. A tenant's session belongs to the token it signed in with
-- (revoking the token ends it; deleting the tenant deletes it); an admin's session records the
-- admin token's hash, so a server started with another admin token does not honour it.
CREATE TABLE dashboard_sessions (
    session_hash BLOB PRIMARY KEY,
    token_id     TEXT REFERENCES api_tokens(id) ON DELETE CASCADE,
    admin_hash   BLOB,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    CHECK ((token_id IS NULL) <> (admin_hash IS NULL))
);
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions(expires_at);
