-- Two lanes in the outbox: what a person's own action planned (the friend accepted, the
-- top-up arrived) goes out at once on its own lane, never behind a servicing run's bulk.
ALTER TABLE outbox ADD COLUMN lane TEXT NOT NULL DEFAULT 'bulk' CHECK (lane IN ('now', 'bulk'));
-- Due notices of a lane, urgent ones first, oldest first: a range of this index, no sort.
CREATE INDEX outbox_due_by_lane ON outbox (status, lane, urgent, next_attempt_at);
