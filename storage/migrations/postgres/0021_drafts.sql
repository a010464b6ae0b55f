-- Where each person is in a flow (/verify, /buy, /cover) and what they have entered so far:
-- read and written with each of their updates, under their turn, so whichever worker
-- their next update reaches goes on from there, and a restart or deploy loses no flow.
-- body is sealed with a key from ID_HASH_KEY (a phone number and a legal name wait here
-- during /verify); a draft not touched for its flow's time is over, and removed.
CREATE TABLE drafts (
    user_id     BIGINT PRIMARY KEY,
    body        BYTEA NOT NULL,
    expires_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX drafts_expiring ON drafts (expires_at);
