-- Daily servicing: partial payments (a friend's part and the borrower's part), debit attempts,
-- overdue marking, servicing runs, and the durable outbox for reminders and notices.

ALTER TABLE instalments ADD COLUMN paid_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instalments ADD COLUMN overdue_since TEXT;   -- first business date it was overdue

CREATE TRIGGER instalments_paid_amount_bounds BEFORE UPDATE OF paid_amount ON instalments
WHEN NEW.paid_amount < OLD.paid_amount OR NEW.paid_amount > NEW.principal + NEW.fee
BEGIN SELECT RAISE(ABORT, 'instalment payment out of bounds'); END;

-- Every payment towards an instalment: the borrower from their wallet, or a friend's debit.
CREATE TABLE instalment_payments (
    id            INTEGER PRIMARY KEY,
    instalment_id INTEGER NOT NULL REFERENCES instalments (id),
    payer_id      INTEGER NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount > 0),
    source        TEXT    NOT NULL CHECK (source IN ('wallet', 'debit')),
    transfer_id   INTEGER NOT NULL UNIQUE REFERENCES transfers (id),
    business_date TEXT    NOT NULL,
    created_at    TEXT    NOT NULL
);
CREATE INDEX instalment_payments_by_instalment ON instalment_payments (instalment_id);
CREATE TRIGGER instalment_payments_append_only_u BEFORE UPDATE ON instalment_payments
BEGIN SELECT RAISE(ABORT, 'payments are append-only'); END;
CREATE TRIGGER instalment_payments_append_only_d BEFORE DELETE ON instalment_payments
BEGIN SELECT RAISE(ABORT, 'payments are append-only'); END;

-- Debit attempts on a friend's part: attempt 0 on the due date, then the retry days.
ALTER TABLE agreement_instalments ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agreement_instalments ADD COLUMN last_attempt_on TEXT;
ALTER TABLE agreement_instalments ADD COLUMN next_attempt_on TEXT;
ALTER TABLE agreement_instalments ADD COLUMN paid_transfer_id INTEGER REFERENCES transfers (id);
CREATE INDEX agreement_instalments_to_debit
    ON agreement_instalments (status, next_attempt_on);

CREATE TABLE servicing_runs (
    business_date     TEXT    PRIMARY KEY,
    started_at        TEXT    NOT NULL,
    finished_at       TEXT,
    debited           INTEGER NOT NULL DEFAULT 0,
    failed            INTEGER NOT NULL DEFAULT 0,
    retried           INTEGER NOT NULL DEFAULT 0,
    defaulted         INTEGER NOT NULL DEFAULT 0,
    overdue_marked    INTEGER NOT NULL DEFAULT 0,
    completed         INTEGER NOT NULL DEFAULT 0,
    reminders_planned INTEGER NOT NULL DEFAULT 0
);

-- Everything the bot tells people outside a reply: planned once (the key), sent once.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    key             TEXT    NOT NULL UNIQUE,
    recipient_id    INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    params          TEXT    NOT NULL DEFAULT '{}',
    urgent          INTEGER NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'sent', 'blocked', 'failed')),
    not_before      TEXT    NOT NULL,
    next_attempt_at TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    message_id      INTEGER,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE TRIGGER outbox_sent_is_final BEFORE UPDATE OF status ON outbox
WHEN OLD.status = 'sent'
BEGIN SELECT RAISE(ABORT, 'a sent message is never sent again'); END;

ALTER TABLE users ADD COLUMN blocked_at TEXT;  -- the user blocked the bot (Telegram 403)
