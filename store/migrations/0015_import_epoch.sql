-- How many imports the store has taken. An import drops the watermark so
-- that the next cycle runs full; a cycle that was running meanwhile must
-- not write a new watermark over that request — also when it started with
-- none (the first full sync), which the watermark alone cannot tell. The
-- cycle reads the epoch when it starts and writes its watermark only if
-- the epoch is still the same.
CREATE TABLE import_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO import_epoch (id, value) VALUES (1, 0);
