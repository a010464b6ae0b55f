-- Several workers service one business date together (docs/postgres.md, Servicing with
-- several workers): each takes the next page nobody holds, and pages of different workers
-- run at the same time. Two things stood in the way.

-- 1. The book's totals were one row per total, updated by every transfer, notice and
-- debit: every writing transaction held the same few rows until it committed, so two
-- pages (or two people's payments) ran one after the other, and two that reached the
-- rows in different orders deadlocked. Each total is now 16 rows that add up to it; a
-- transaction adds to the first one no other transaction holds, so parallel writers do
-- not wait for each other or deadlock here. Readers sum the shards.
ALTER TABLE book_totals ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0
    CHECK (shard BETWEEN 0 AND 15);
ALTER TABLE book_totals DROP CONSTRAINT book_totals_pkey;
ALTER TABLE book_totals ADD PRIMARY KEY (name, shard);
INSERT INTO book_totals (name, shard, value)
    SELECT name, s, 0 FROM book_totals, generate_series(1, 15) AS s;

CREATE OR REPLACE FUNCTION book_total_add(total_name text, delta bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE book_totals SET value = value + delta
    WHERE name = total_name AND shard = (SELECT shard FROM book_totals
                                         WHERE name = total_name ORDER BY shard
                                         LIMIT 1 FOR UPDATE SKIP LOCKED);
    IF NOT FOUND THEN  -- all 16 held by others: wait for the first
        UPDATE book_totals SET value = value + delta WHERE name = total_name AND shard = 0;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION transfers_post_legs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO postings (transfer_id, account_id, amount)
    SELECT NEW.id, (leg ->> 0)::bigint, (leg ->> 1)::bigint
    FROM jsonb_array_elements(NEW.legs) AS leg;
    PERFORM book_total_add('transfers', 1);
    RETURN NULL;
END $$;

-- 2. Reminders were planned in one key-ordered pass per due date. They are now cut into
-- slices of the instalments' ids when the first worker reaches them; each slice keeps
-- how far it got, and a page is one slice's next part, held (row lock) only while the
-- page's transaction runs. A worker killed mid-page leaves the slice as it was at its
-- last page, and whoever takes it next goes on from there.
ALTER TABLE servicing_runs ADD COLUMN sliced_at TEXT;
CREATE TABLE servicing_slices (
    business_date TEXT   NOT NULL REFERENCES servicing_runs (business_date),
    kind          TEXT   NOT NULL CHECK (kind IN ('due', 'overdue')),
    days          BIGINT NOT NULL CHECK (days >= 0),
    step          BIGINT NOT NULL,  -- its place in the day's schedule: taken in this order
    due_date      TEXT   NOT NULL,
    after_id      BIGINT NOT NULL,  -- the slice: ids above this...
    upto_id       BIGINT,           -- ...up to this one (none: no end)
    done_upto     BIGINT NOT NULL,  -- planned so far: ids up to this one
    finished_at   TEXT,
    PRIMARY KEY (business_date, kind, days, after_id)
);
CREATE INDEX servicing_slices_open ON servicing_slices (business_date, step, after_id)
    WHERE finished_at IS NULL;
