-- Borrower side: real-name identities, repayment history, bills and instalments, freezes.

ALTER TABLE users ADD COLUMN frozen_reason TEXT;
ALTER TABLE users ADD COLUMN frozen_at TEXT;

-- Resident ID and phone numbers are never stored: only a keyed hash and a mask.
CREATE TABLE identities (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id),
    legal_name  TEXT NOT NULL,
    id_hash     TEXT NOT NULL UNIQUE,
    id_mask     TEXT NOT NULL,
    phone_hash  TEXT NOT NULL,
    phone_mask  TEXT NOT NULL,
    birth_date  TEXT NOT NULL,
    verified_at TEXT NOT NULL
);
CREATE INDEX identities_by_phone ON identities (phone_hash);
CREATE TRIGGER identities_are_final_u BEFORE UPDATE ON identities
BEGIN SELECT RAISE(ABORT, 'a verified identity is never changed'); END;
CREATE TRIGGER identities_are_final_d BEFORE DELETE ON identities
BEGIN SELECT RAISE(ABORT, 'a verified identity is never deleted'); END;

-- Repayment history from elsewhere (daihuan import-history). Re-importing a row updates it.
CREATE TABLE credit_history (
    user_id     INTEGER NOT NULL,
    bill_ref    TEXT    NOT NULL,
    due_date    TEXT    NOT NULL,
    paid_date   TEXT,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    imported_at TEXT    NOT NULL,
    PRIMARY KEY (user_id, bill_ref, due_date)
);

CREATE TABLE bills (
    id           INTEGER PRIMARY KEY,
    borrower_id  INTEGER NOT NULL REFERENCES users (id),
    merchant     TEXT    NOT NULL,
    principal    INTEGER NOT NULL CHECK (principal > 0),
    fee          INTEGER NOT NULL CHECK (fee >= 0),
    plan         INTEGER NOT NULL CHECK (plan IN (1, 3, 6, 12)),
    purchased_on TEXT    NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('chat', 'import')),
    ref          TEXT    NOT NULL UNIQUE,         -- the purchase's idempotency key
    transfer_id  INTEGER NOT NULL UNIQUE REFERENCES transfers (id),
    created_at   TEXT    NOT NULL
);
CREATE INDEX bills_by_borrower ON bills (borrower_id, id);

CREATE TABLE instalments (
    id                  INTEGER PRIMARY KEY,
    bill_id             INTEGER NOT NULL REFERENCES bills (id),
    seq                 INTEGER NOT NULL CHECK (seq >= 1),
    due_date            TEXT    NOT NULL,
    principal           INTEGER NOT NULL CHECK (principal >= 0),
    fee                 INTEGER NOT NULL CHECK (fee >= 0),
    status              TEXT    NOT NULL DEFAULT 'unpaid' CHECK (status IN ('unpaid', 'paid')),
    paid_at             TEXT,
    paid_on             TEXT,                     -- business date of the payment
    paid_by             INTEGER,
    payment_transfer_id INTEGER UNIQUE REFERENCES transfers (id),
    UNIQUE (bill_id, seq),
    CHECK (principal + fee > 0),
    CHECK ((status = 'paid') = (payment_transfer_id IS NOT NULL))
);
CREATE INDEX instalments_by_due ON instalments (status, due_date);

-- Each instalment is paid at most once (invariant 5): a paid instalment never changes.
CREATE TRIGGER instalments_paid_is_final BEFORE UPDATE ON instalments
WHEN OLD.status = 'paid'
BEGIN SELECT RAISE(ABORT, 'instalment already paid'); END;
CREATE TRIGGER instalments_no_delete BEFORE DELETE ON instalments
BEGIN SELECT RAISE(ABORT, 'instalments are never deleted'); END;
CREATE TRIGGER bills_no_delete BEFORE DELETE ON bills
BEGIN SELECT RAISE(ABORT, 'bills are never deleted'); END;
