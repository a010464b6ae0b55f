-- Which worker has taken a pending notice to send (storage.leadership.WorkerPresence's id),
-- so two processes draining one book never send it twice. A SQLite book has one process,
-- which never needs to claim; the column keeps both schemas in step.
ALTER TABLE outbox ADD COLUMN claimed_by INTEGER;
-- Claims and due notices are read by (next_attempt_at, id): the due index ends with the
-- rowid already (PostgreSQL's twin adds the key to its index).
