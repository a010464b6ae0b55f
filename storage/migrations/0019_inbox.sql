-- Updates from Telegram, kept from the moment they arrive until they are handled: the
-- webhook answers 200 (and polling lets Telegram forget a batch) only once they are here,
-- so a process killed before or while handling one leaves it for the next to handle.
-- body is the update sealed with a key from ID_HASH_KEY (a message may carry an ID number
-- typed during /verify, which is never kept in clear) and emptied once handled; handled
-- rows are forgotten after a day, before Telegram could reuse an update id.
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,
    user_key    INTEGER,           -- whose it is (user, else chat), for per-user order
    body        BLOB,
    -- a keyed digest of the update: the same id with other content is another update
    -- (Telegram numbers afresh after a week without updates, or another bot's)
    digest      BLOB NOT NULL,
    received_at TEXT NOT NULL,
    taken_by    INTEGER,           -- the worker handling it (storage.leadership)
    handled_at  TEXT
);
-- What is waiting to be handled, oldest first: a handful of rows, however big the table.
CREATE INDEX inbox_waiting ON inbox (update_id) WHERE handled_at IS NULL;
CREATE INDEX inbox_handled ON inbox (handled_at) WHERE handled_at IS NOT NULL;
