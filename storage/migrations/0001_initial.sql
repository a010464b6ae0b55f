-- Users, the double-entry ledger and the append-only event log.

CREATE TABLE users (
    id                INTEGER PRIMARY KEY,          -- Telegram user id
    display_name      TEXT    NOT NULL,
    language          TEXT    CHECK (language IN ('zh', 'en')),
    telegram_language TEXT,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
);

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    balance     INTEGER NOT NULL DEFAULT 0,          -- fen; cached sum of this account's postings
    min_balance INTEGER,
    max_balance INTEGER,
    created_at  TEXT    NOT NULL,
    -- Last line of defence: the posting trigger below refuses first, but no path may break this.
    CHECK (min_balance IS NULL OR balance >= min_balance),
    CHECK (max_balance IS NULL OR balance <= max_balance)
);

CREATE TABLE transfers (
    id           INTEGER PRIMARY KEY,
    idem_key     TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    legs         TEXT    NOT NULL,                   -- JSON [[account_id, fen], ...]
    memo         TEXT    NOT NULL DEFAULT '',
    reverses     INTEGER UNIQUE REFERENCES transfers (id),
    content_hash TEXT    NOT NULL,
    posted_at    TEXT    NOT NULL
);

CREATE TABLE postings (
    transfer_id INTEGER NOT NULL REFERENCES transfers (id),
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    amount      INTEGER NOT NULL CHECK (amount != 0),
    PRIMARY KEY (transfer_id, account_id)
) WITHOUT ROWID;
CREATE INDEX postings_by_account ON postings (account_id, transfer_id);

-- A transfer whose legs do not balance is a programming error: fail loudly.
CREATE TRIGGER transfers_must_balance BEFORE INSERT ON transfers
WHEN (SELECT COUNT(*) FROM json_each(NEW.legs)) < 2
  OR (SELECT SUM(json_extract(value, '$[1]')) FROM json_each(NEW.legs)) != 0
BEGIN
    SELECT RAISE(ABORT, 'ledger: unbalanced transfer');
END;

-- A reversal must mirror the transfer it reverses exactly.
CREATE TRIGGER reversals_must_mirror BEFORE INSERT ON transfers
WHEN NEW.reverses IS NOT NULL
 AND EXISTS (SELECT 1 FROM transfers WHERE id = NEW.reverses)
 AND ((SELECT COUNT(*) FROM json_each(NEW.legs))
        != (SELECT COUNT(*) FROM postings WHERE transfer_id = NEW.reverses)
      OR EXISTS (SELECT 1 FROM json_each(NEW.legs) AS j
                 WHERE NOT EXISTS (SELECT 1 FROM postings AS p
                                   WHERE p.transfer_id = NEW.reverses
                                     AND p.account_id = json_extract(j.value, '$[0]')
                                     AND p.amount = -json_extract(j.value, '$[1]'))))
BEGIN
    SELECT RAISE(ABORT, 'ledger: reversal does not mirror the original');
END;

-- Business refusals (unknown account, a balance limit, a second reversal) skip the row with
-- nothing written, so one statement either posts a whole transfer or nothing; the caller
-- reads back what happened. The ledger enforces the limits, not its callers.
CREATE TRIGGER transfers_refuse BEFORE INSERT ON transfers
WHEN EXISTS (SELECT 1 FROM json_each(NEW.legs) AS j
             LEFT JOIN accounts AS a ON a.id = json_extract(j.value, '$[0]')
             WHERE a.id IS NULL
                OR (a.min_balance IS NOT NULL
                    AND a.balance + json_extract(j.value, '$[1]') < a.min_balance)
                OR (a.max_balance IS NOT NULL
                    AND a.balance + json_extract(j.value, '$[1]') > a.max_balance))
  OR (NEW.reverses IS NOT NULL
      AND (NOT EXISTS (SELECT 1 FROM transfers WHERE id = NEW.reverses)
           OR EXISTS (SELECT 1 FROM transfers WHERE reverses = NEW.reverses)))
BEGIN
    SELECT RAISE(IGNORE);
END;

CREATE TRIGGER transfers_post_legs AFTER INSERT ON transfers
BEGIN
    INSERT INTO postings (transfer_id, account_id, amount)
    SELECT NEW.id, json_extract(value, '$[0]'), json_extract(value, '$[1]')
    FROM json_each(NEW.legs);
END;

CREATE TRIGGER postings_update_balance AFTER INSERT ON postings
BEGIN
    UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.account_id;
END;

CREATE TRIGGER transfers_append_only_u BEFORE UPDATE ON transfers
BEGIN SELECT RAISE(ABORT, 'ledger: transfers are append-only'); END;
CREATE TRIGGER transfers_append_only_d BEFORE DELETE ON transfers
BEGIN SELECT RAISE(ABORT, 'ledger: transfers are append-only'); END;
CREATE TRIGGER postings_append_only_u BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'ledger: postings are append-only'); END;
CREATE TRIGGER postings_append_only_d BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'ledger: postings are append-only'); END;
CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts
BEGIN SELECT RAISE(ABORT, 'ledger: accounts are never deleted'); END;

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    actor       TEXT NOT NULL,
    subject     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_subject ON events (subject, id);
CREATE INDEX events_by_time ON events (occurred_at);

CREATE TRIGGER events_append_only_u BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_d BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
