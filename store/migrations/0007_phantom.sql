-- Phantom users (sipXecs): members of directory.phantom_group_dn keep their
-- directory data but use neither a license seat nor an extension.
ALTER TABLE users ADD COLUMN phantom INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_phantom ON users (phantom) WHERE phantom = 1;
