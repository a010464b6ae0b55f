-- A business date's debits are cut into slices of friends, by friend id, when the first
-- worker reaches them; a worker holds a slice (row lock) while a page of it runs.
--
-- Pages of due parts in the order they fell due each touched nearly every friend's wallet,
-- so two workers' pages queued on the same wallet rows (a transfer holds its accounts until
-- commit) and deadlocked when they met them in different orders: two workers took longer
-- than one. A friend's parts are now all in one slice: one worker at a time debits a
-- wallet, in the parts' order, which also keeps the order in which a short wallet pays
-- its parts the same as with one worker. The borrowers' receivables are still shared by
-- slices; a page takes the accounts it will move up front, passing over any another unit
-- holds (those friends wait for the slice's next page) instead of waiting for them.
ALTER TABLE servicing_runs ADD COLUMN debits_sliced_at TEXT;
CREATE TABLE debit_slices (
    business_date TEXT   NOT NULL REFERENCES servicing_runs (business_date),
    after_friend  BIGINT NOT NULL,
    upto_friend   BIGINT,
    finished_at   TEXT,
    PRIMARY KEY (business_date, after_friend)
);
CREATE INDEX debit_slices_open ON debit_slices (business_date, after_friend)
    WHERE finished_at IS NULL;
