-- Reminders are planned a slice at a time, each slice keeping how far it got, so that
-- several PostgreSQL workers can share a business date's run (the PostgreSQL migration
-- of the same number says why). SQLite has one writer and runs the slices in turn, but
-- keeps the same tables and the same columns: one schema, whichever the engine.
ALTER TABLE book_totals ADD COLUMN shard INTEGER NOT NULL DEFAULT 0 CHECK (shard = 0);
ALTER TABLE servicing_runs ADD COLUMN sliced_at TEXT;
CREATE TABLE servicing_slices (
    business_date TEXT    NOT NULL REFERENCES servicing_runs (business_date),
    kind          TEXT    NOT NULL CHECK (kind IN ('due', 'overdue')),
    days          INTEGER NOT NULL CHECK (days >= 0),
    step          INTEGER NOT NULL,
    due_date      TEXT    NOT NULL,
    after_id      INTEGER NOT NULL,
    upto_id       INTEGER,
    done_upto     INTEGER NOT NULL,
    finished_at   TEXT,
    PRIMARY KEY (business_date, kind, days, after_id)
);
CREATE INDEX servicing_slices_open ON servicing_slices (business_date, step, after_id)
    WHERE finished_at IS NULL;
