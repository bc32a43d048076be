-- Every cycle asks for the deactivated users whose retention ran out
-- (DeactivatedBefore: state = 'deactivated' AND deactivated_at < cutoff).
-- With an index on state and one on deactivated_at, and no statistics,
-- SQLite took users_state: it read every deactivated row to find none
-- expired, 15 ms of an idle delta's ~50 ms with 1,000 deactivated users.
-- One index on both finds the expired rows, and only those.
DROP INDEX users_deactivated_at;
CREATE INDEX users_state_deactivated_at ON users (state, deactivated_at) WHERE deactivated_at IS NOT NULL;
