-- The number of transfers, kept by trigger like the book's other totals, for /healthz and
-- /metrics: MAX(id) overstated it here, where a rolled-back insert uses up its id.
INSERT INTO book_totals (name, value) VALUES ('transfers', (SELECT count(*) FROM transfers));
CREATE FUNCTION book_totals_transfers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM book_total_add('transfers', 1);
    RETURN NULL;
END $$;
CREATE TRIGGER book_totals_transfers AFTER INSERT ON transfers
    FOR EACH ROW EXECUTE FUNCTION book_totals_transfers();

-- The ledger's check, unchanged in what it decides, now finds a transfer's accounts through
-- the primary key. It joined the legs (jsonb_array_elements, which the planner guesses at
-- 100 rows) to accounts, and the cached plan for that was a sequential scan of every
-- account, twice per transfer: a transfer cost more as the book grew. The legs are read
-- into arrays once; the accounts are locked in id order and their limits checked in the
-- same pass, on the balances the locks guarantee current.
CREATE OR REPLACE FUNCTION transfers_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids      bigint[];
    amounts  bigint[];
    account  record;
    found_n  integer := 0;
    beyond   boolean := false;
    delta    bigint;
BEGIN
    SELECT array_agg((leg ->> 0)::bigint), array_agg((leg ->> 1)::bigint)
    INTO ids, amounts FROM jsonb_array_elements(NEW.legs) AS leg;
    IF coalesce(cardinality(ids), 0) < 2
       OR (SELECT sum(a) FROM unnest(amounts) AS a) != 0 THEN
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
