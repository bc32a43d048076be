-- Settings profiles: a user's own overrides of its profile's settings
-- (canonical JSON, '' for none), and the profile its settings come from
-- (the settings' prof= key, kept as a column so a delta finds the users
-- whose group membership moved them to another profile).
ALTER TABLE users ADD COLUMN overrides TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '';
CREATE INDEX users_profile ON users (profile);

-- Alias numbers (a user's further fax/SMS numbers), a JSON array like fax_numbers.
ALTER TABLE users ADD COLUMN alias_numbers TEXT NOT NULL DEFAULT '[]';

-- The fingerprint of the profiles (and voicemail digit rule) the last cycle
-- applied: when it changes, a delta recomputes everyone's settings.
ALTER TABLE watermark ADD COLUMN profiles TEXT NOT NULL DEFAULT '';
