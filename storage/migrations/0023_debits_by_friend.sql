-- A business date's debits are cut into slices of friends (the PostgreSQL migration of the
-- same number says why). SQLite has one writer and runs the slices in turn, but keeps the
-- same tables and columns: one schema, whichever the engine.
ALTER TABLE servicing_runs ADD COLUMN debits_sliced_at TEXT;
CREATE TABLE debit_slices (
    business_date TEXT    NOT NULL REFERENCES servicing_runs (business_date),
    after_friend  INTEGER NOT NULL,
    upto_friend   INTEGER,
    finished_at   TEXT,
    PRIMARY KEY (business_date, after_friend)
);
CREATE INDEX debit_slices_open ON debit_slices (business_date, after_friend)
    WHERE finished_at IS NULL;
