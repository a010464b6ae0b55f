-- Which ID_HASH_KEY the book's identity hashes and invitation tokens were made with, as
-- fingerprints (never the keys). A bot started with a key the book does not know refuses
-- to start: otherwise a verified ID would verify again on a new account, and links shown
-- again would not open.
CREATE TABLE key_fingerprints (
    fingerprint   TEXT PRIMARY KEY,
    first_used_at TEXT NOT NULL
) WITHOUT ROWID;
