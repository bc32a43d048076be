-- The license cap: each user's license state (active | pending | none) and
-- since when the seat is held.
ALTER TABLE users ADD COLUMN license TEXT NOT NULL DEFAULT 'none'
    CHECK (license IN ('active', 'pending', 'none'));
ALTER TABLE users ADD COLUMN license_since TEXT;
CREATE INDEX users_license ON users (license);

-- The seat count the license cap last ran with: a delta runs the cap again
-- when license.seats changed.
ALTER TABLE watermark ADD COLUMN license_seats INTEGER NOT NULL DEFAULT -1;
