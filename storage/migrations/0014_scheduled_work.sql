-- What the daily run, the outbox and the reports read is found through indexes that lead
-- with what is due, and the book's totals are kept by trigger (as the ledger keeps its
-- balances), so no scheduled job reads more rows as the book grows.

-- A covered part is next debited on its due date: set when it is covered, so the debits of a
-- day are a range of (status, next_attempt_on) and no longer a sort of every covered part.
UPDATE agreement_instalments SET next_attempt_on =
    (SELECT due_date FROM instalments WHERE id = instalment_id)
WHERE status = 'covered' AND next_attempt_on IS NULL;
CREATE TRIGGER agreement_instalments_first_debit AFTER INSERT ON agreement_instalments
WHEN NEW.next_attempt_on IS NULL
BEGIN
    UPDATE agreement_instalments
    SET next_attempt_on = (SELECT due_date FROM instalments WHERE id = NEW.instalment_id)
    WHERE agreement_id = NEW.agreement_id AND instalment_id = NEW.instalment_id;
END;

-- Instalments past due and not yet marked overdue: what marking reads, and nothing else.
CREATE INDEX instalments_to_mark_overdue ON instalments (due_date, id)
    WHERE status = 'unpaid' AND overdue_since IS NULL;
-- The burst rule reads the last minutes' requests; the rules their own open alerts.
CREATE INDEX cover_requests_by_time ON cover_requests (created_at);
CREATE INDEX alerts_by_rule ON alerts (rule, status);
CREATE INDEX alerts_by_severity ON alerts (status, severity, id);
-- A recipient who blocked the bot: their pending notices are held, and released later.
CREATE INDEX outbox_by_recipient ON outbox (recipient_id, status);

-- Totals of the book, each kept by the triggers below in the statement that changes it.
CREATE TABLE book_totals (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO book_totals (name, value) VALUES
    ('users', (SELECT COUNT(*) FROM users WHERE display_name != '')),
    ('active_agreements', (SELECT COUNT(*) FROM agreements WHERE status = 'active')),
    ('covered_fen', (SELECT COALESCE(SUM(amount), 0) FROM agreement_instalments
                     WHERE status = 'covered')),
    ('outstanding_fen', (SELECT COALESCE(SUM(principal + fee - paid_amount), 0)
                         FROM instalments WHERE status = 'unpaid')),
    ('outbox:pending', (SELECT COUNT(*) FROM outbox WHERE status = 'pending')),
    ('outbox:sent', (SELECT COUNT(*) FROM outbox WHERE status = 'sent')),
    ('outbox:blocked', (SELECT COUNT(*) FROM outbox WHERE status = 'blocked')),
    ('outbox:failed', (SELECT COUNT(*) FROM outbox WHERE status = 'failed')),
    ('debits:succeeded', (SELECT COUNT(*) FROM events WHERE kind = 'debit.succeeded')),
    ('debits:failed', (SELECT COUNT(*) FROM events WHERE kind = 'debit.failed')),
    ('debits:defaulted', (SELECT COUNT(*) FROM events WHERE kind = 'debit.defaulted'));

CREATE TRIGGER book_totals_users_new AFTER INSERT ON users WHEN NEW.display_name != ''
BEGIN UPDATE book_totals SET value = value + 1 WHERE name = 'users'; END;
CREATE TRIGGER book_totals_users_named AFTER UPDATE OF display_name ON users
WHEN (OLD.display_name = '') != (NEW.display_name = '')
BEGIN
    UPDATE book_totals SET value = value + CASE WHEN NEW.display_name = '' THEN -1 ELSE 1 END
    WHERE name = 'users';
END;
CREATE TRIGGER book_totals_agreements_new AFTER INSERT ON agreements WHEN NEW.status = 'active'
BEGIN UPDATE book_totals SET value = value + 1 WHERE name = 'active_agreements'; END;
CREATE TRIGGER book_totals_agreements_ended AFTER UPDATE OF status ON agreements
WHEN OLD.status = 'active' AND NEW.status != 'active'
BEGIN UPDATE book_totals SET value = value - 1 WHERE name = 'active_agreements'; END;
CREATE TRIGGER book_totals_outstanding_new AFTER INSERT ON instalments
BEGIN
    UPDATE book_totals SET value = value + NEW.principal + NEW.fee - NEW.paid_amount
    WHERE name = 'outstanding_fen';
END;
CREATE TRIGGER book_totals_outstanding_paid AFTER UPDATE OF paid_amount ON instalments
BEGIN
    UPDATE book_totals SET value = value - (NEW.paid_amount - OLD.paid_amount)
    WHERE name = 'outstanding_fen';
END;
CREATE TRIGGER book_totals_outbox_new AFTER INSERT ON outbox
BEGIN UPDATE book_totals SET value = value + 1 WHERE name = 'outbox:' || NEW.status; END;
CREATE TRIGGER book_totals_outbox_moved AFTER UPDATE OF status ON outbox
WHEN OLD.status != NEW.status
BEGIN
    UPDATE book_totals SET value = value - 1 WHERE name = 'outbox:' || OLD.status;
    UPDATE book_totals SET value = value + 1 WHERE name = 'outbox:' || NEW.status;
END;
CREATE TRIGGER book_totals_debits AFTER INSERT ON events
WHEN NEW.kind IN ('debit.succeeded', 'debit.failed', 'debit.defaulted')
BEGIN
    UPDATE book_totals SET value = value + 1
    WHERE name = 'debits:' || substr(NEW.kind, 7);
END;

-- What each friend still covers: the exposure rule and the network view read it directly.
CREATE TABLE friend_exposure (
    friend_id INTEGER PRIMARY KEY,
    fen       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX friend_exposure_by_fen ON friend_exposure (fen);
INSERT INTO friend_exposure (friend_id, fen)
SELECT a.friend_id, SUM(ai.amount) FROM agreement_instalments ai
JOIN agreements a ON a.id = ai.agreement_id WHERE ai.status = 'covered' GROUP BY a.friend_id;
CREATE TRIGGER exposure_covered AFTER INSERT ON agreement_instalments
WHEN NEW.status = 'covered'
BEGIN
    UPDATE book_totals SET value = value + NEW.amount WHERE name = 'covered_fen';
    INSERT INTO friend_exposure (friend_id, fen)
    VALUES ((SELECT friend_id FROM agreements WHERE id = NEW.agreement_id), NEW.amount)
    ON CONFLICT (friend_id) DO UPDATE SET fen = fen + excluded.fen;
END;
CREATE TRIGGER exposure_released AFTER UPDATE OF status ON agreement_instalments
WHEN OLD.status = 'covered' AND NEW.status != 'covered'
BEGIN
    UPDATE book_totals SET value = value - OLD.amount WHERE name = 'covered_fen';
    UPDATE friend_exposure SET fen = fen - OLD.amount
    WHERE friend_id = (SELECT friend_id FROM agreements WHERE id = OLD.agreement_id);
END;

-- The overdue amount at the end of each run, kept with the run: the report's history reads
-- thirty rows instead of the whole book thirty times. The last thirty runs are filled in.
ALTER TABLE servicing_runs ADD COLUMN overdue_fen INTEGER;
UPDATE servicing_runs SET overdue_fen = (
    SELECT COALESCE(SUM(i.principal + i.fee), 0) FROM instalments i
    WHERE i.due_date < servicing_runs.business_date
      AND (i.paid_on IS NULL OR i.paid_on > servicing_runs.business_date))
WHERE business_date >= (SELECT date(MAX(business_date), '-29 days') FROM servicing_runs);
