-- Wrong voicemail PINs in a row; at voicemail.max_pin_failures the box is
-- locked (settings vmlock=1) until an admin unlocks it.
ALTER TABLE users ADD COLUMN pin_failures INTEGER NOT NULL DEFAULT 0;
