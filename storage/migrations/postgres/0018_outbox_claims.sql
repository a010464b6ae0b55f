-- Which worker has taken a pending notice to send (storage.leadership.WorkerPresence's id).
-- Every worker drains the outbox: a claim taken with FOR UPDATE SKIP LOCKED keeps the others
-- off the row while it is sent, and stands only while its worker's advisory lock does, so
-- the rows of a worker that died are anyone's at once. Retries and releases clear it.
ALTER TABLE outbox ADD COLUMN claimed_by BIGINT;
-- Notices planned together fall due at the same moment, and are claimed in the order they
-- were planned: the due index ends with the key, as SQLite's do by themselves (see 0017).
DROP INDEX outbox_due_by_lane;
CREATE INDEX outbox_due_by_lane ON outbox (status, lane, urgent, next_attempt_at, id);
