-- The ledger's triggers decide exactly as before, in fewer steps per transfer. Each SQL
-- statement a trigger runs, and each trigger call, costs the server a fixed price, and a
-- group-committed batch pays it for every transfer in turn while the batch holds the bank's
-- row lock: that price, not the commit, bounded how far batching could raise throughput.

-- The totals' helper was a SQL function, planned afresh at every call; a PL/pgSQL one keeps
-- its plan for the session.
CREATE OR REPLACE FUNCTION book_total_add(total_name text, delta bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE book_totals SET value = value + delta WHERE name = total_name;
END $$;

-- The check reads the legs once: ids, amounts and their sum in one pass.
CREATE OR REPLACE FUNCTION transfers_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids      bigint[];
    amounts  bigint[];
    total    numeric;
    account  record;
    found_n  integer := 0;
    beyond   boolean := false;
    delta    bigint;
BEGIN
    SELECT array_agg((leg ->> 0)::bigint), array_agg((leg ->> 1)::bigint),
           sum((leg ->> 1)::bigint)
    INTO ids, amounts, total FROM jsonb_array_elements(NEW.legs) AS leg;
    IF coalesce(cardinality(ids), 0) < 2 OR total != 0 THEN
        RAISE EXCEPTION 'ledger: unbalanced transfer' USING ERRCODE = 'check_violation';
    END IF;
    FOR account IN SELECT id, balance, min_balance, max_balance FROM accounts
                   WHERE id = ANY (ids) ORDER BY id FOR UPDATE LOOP
        found_n := found_n + 1;
        delta := amounts[array_position(ids, account.id)];
        IF (account.min_balance IS NOT NULL AND account.balance + delta < account.min_balance)
           OR (account.max_balance IS NOT NULL
               AND account.balance + delta > account.max_balance) THEN
            beyond := true;
        END IF;
    END LOOP;
    IF NEW.reverses IS NOT NULL THEN
        -- A reversal locks its original: two reversals of one transfer queue, and the
        -- second sees the first once it commits.
        PERFORM 1 FROM transfers WHERE id = NEW.reverses FOR UPDATE;
        IF FOUND AND (
               cardinality(ids)
                   != (SELECT count(*) FROM postings WHERE transfer_id = NEW.reverses)
            OR EXISTS (SELECT 1 FROM unnest(ids, amounts) AS leg (account_id, amount)
                       WHERE NOT EXISTS (
                           SELECT 1 FROM postings AS p
                           WHERE p.transfer_id = NEW.reverses
                             AND p.account_id = leg.account_id
                             AND p.amount = -leg.amount))) THEN
            RAISE EXCEPTION 'ledger: reversal does not mirror the original'
                USING ERRCODE = 'check_violation';
        END IF;
        IF NOT FOUND OR EXISTS (SELECT 1 FROM transfers WHERE reverses = NEW.reverses) THEN
            RETURN NULL;
        END IF;
    END IF;
    -- An unknown account, or one this transfer would take past a limit: nothing is written.
    IF found_n < cardinality(ids) OR beyond THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END $$;

-- Posting the legs also counts the transfer: one trigger call where there were two.
DROP TRIGGER book_totals_transfers ON transfers;
DROP FUNCTION book_totals_transfers();
CREATE OR REPLACE FUNCTION transfers_post_legs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO postings (transfer_id, account_id, amount)
    SELECT NEW.id, (leg ->> 0)::bigint, (leg ->> 1)::bigint
    FROM jsonb_array_elements(NEW.legs) AS leg;
    UPDATE book_totals SET value = value + 1 WHERE name = 'transfers';
    RETURN NULL;
END $$;

-- Balances move once per INSERT into postings, by all of its rows together, instead of one
-- trigger call and one UPDATE per posting. Whatever inserts postings still moves them.
DROP TRIGGER postings_update_balance ON postings;
DROP FUNCTION postings_update_balance();
CREATE FUNCTION postings_update_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts AS a SET balance = a.balance + p.amount
    FROM (SELECT account_id, sum(amount) AS amount FROM new_postings GROUP BY account_id) AS p
    WHERE a.id = p.account_id;
    RETURN NULL;
END $$;
CREATE TRIGGER postings_update_balances AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION postings_update_balances();
