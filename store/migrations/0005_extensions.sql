-- Extension numbers given back (a user purged, or their number changed):
-- they rest for extensions.quarantine before the pool hands them out again.
CREATE TABLE extension_releases (
    number      TEXT PRIMARY KEY,
    released_at TEXT NOT NULL
);
