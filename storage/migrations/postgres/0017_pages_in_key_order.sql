-- Servicing reads what is due a page at a time, in key order, resuming after the last key
-- it saw. In SQLite every index ends with the row's key, so each page is a range of the
-- index; in PostgreSQL an index holds only the columns it names, and without the key each
-- page sorted everything due that day again to find the next 500: the whole run cost the
-- square of what was due. The indexes now end with the keys the pages are ordered by.
DROP INDEX instalments_by_due;
CREATE INDEX instalments_by_due ON instalments (status, due_date, id);
DROP INDEX agreement_instalments_to_debit;
CREATE INDEX agreement_instalments_to_debit
    ON agreement_instalments (status, next_attempt_on, agreement_id, instalment_id);
