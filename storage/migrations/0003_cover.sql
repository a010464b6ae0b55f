-- Asking a friend: cover requests, signed agreements and the instalments they cover.

CREATE TABLE cover_requests (
    id          INTEGER PRIMARY KEY,
    borrower_id INTEGER NOT NULL REFERENCES users (id),
    bill_id     INTEGER NOT NULL REFERENCES bills (id),
    share_bp    INTEGER NOT NULL CHECK (share_bp BETWEEN 1 AND 10000),
    route       TEXT    NOT NULL CHECK (route IN ('contact', 'card', 'link')),
    friend_id   INTEGER,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'opened', 'accepted', 'signed',
                                                   'declined', 'expired', 'cancelled',
                                                   'revoked')),
    token_hash  TEXT    NOT NULL UNIQUE,           -- sha256 of the invitation token
    token_salt  TEXT    NOT NULL UNIQUE,
    income_band TEXT,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    CHECK (friend_id IS NULL OR friend_id != borrower_id)
);
CREATE INDEX cover_requests_by_borrower ON cover_requests (borrower_id, created_at);
CREATE INDEX cover_requests_by_friend ON cover_requests (friend_id, status);
CREATE INDEX cover_requests_open ON cover_requests (status, expires_at);

CREATE TABLE cover_request_instalments (
    request_id    INTEGER NOT NULL REFERENCES cover_requests (id),
    instalment_id INTEGER NOT NULL REFERENCES instalments (id),
    PRIMARY KEY (request_id, instalment_id)
) WITHOUT ROWID;

-- A request ends in a state it never leaves.
CREATE TRIGGER cover_requests_final BEFORE UPDATE OF status ON cover_requests
WHEN OLD.status IN ('signed', 'declined', 'expired', 'cancelled', 'revoked')
BEGIN SELECT RAISE(ABORT, 'cover request already ended'); END;
CREATE TRIGGER cover_requests_no_delete BEFORE DELETE ON cover_requests
BEGIN SELECT RAISE(ABORT, 'cover requests are never deleted'); END;

CREATE TABLE agreements (
    id               INTEGER PRIMARY KEY,
    request_id       INTEGER NOT NULL UNIQUE REFERENCES cover_requests (id),
    borrower_id      INTEGER NOT NULL REFERENCES users (id),
    friend_id        INTEGER NOT NULL REFERENCES users (id),
    bill_id          INTEGER NOT NULL REFERENCES bills (id),
    share_bp         INTEGER NOT NULL CHECK (share_bp BETWEEN 1 AND 10000),
    version          TEXT    NOT NULL,
    language         TEXT    NOT NULL,
    text             TEXT    NOT NULL,
    text_sha256      TEXT    NOT NULL,
    signed_at        TEXT    NOT NULL,
    shown_chat_id    INTEGER,
    shown_message_id INTEGER,
    status           TEXT    NOT NULL DEFAULT 'active'
                             CHECK (status IN ('active', 'completed', 'terminated', 'defaulted')),
    ended_at         TEXT,
    end_reason       TEXT,
    CHECK (friend_id != borrower_id)
);
CREATE INDEX agreements_by_friend ON agreements (friend_id, status);
CREATE INDEX agreements_by_borrower ON agreements (borrower_id, status);

-- What was signed is never changed (invariant 8); only the status moves on.
CREATE TRIGGER agreements_signed_text_is_final
BEFORE UPDATE OF request_id, borrower_id, friend_id, bill_id, share_bp, version, language, text,
                 text_sha256, signed_at, shown_chat_id, shown_message_id ON agreements
BEGIN SELECT RAISE(ABORT, 'a signed agreement never changes'); END;
CREATE TRIGGER agreements_no_delete BEFORE DELETE ON agreements
BEGIN SELECT RAISE(ABORT, 'agreements are never deleted'); END;

CREATE TABLE agreement_instalments (
    agreement_id  INTEGER NOT NULL REFERENCES agreements (id),
    instalment_id INTEGER NOT NULL REFERENCES instalments (id),
    amount        INTEGER NOT NULL CHECK (amount > 0),     -- the friend's part, in fen
    status        TEXT    NOT NULL DEFAULT 'covered'
                          CHECK (status IN ('covered', 'returned', 'paid', 'defaulted')),
    PRIMARY KEY (agreement_id, instalment_id)
) WITHOUT ROWID;
CREATE INDEX agreement_instalments_by_instalment ON agreement_instalments (instalment_id);
