-- PostgreSQL's twin of this migration cuts the fixed price its ledger triggers pay per
-- transfer. The same change here, for one schema in both: posting the legs also counts the
-- transfer, one trigger where there were two. (SQLite's per-posting balance trigger stays:
-- its triggers are plain statements, with no call or planning price to save.)
DROP TRIGGER book_totals_transfers;
DROP TRIGGER transfers_post_legs;
CREATE TRIGGER transfers_post_legs AFTER INSERT ON transfers
BEGIN
    INSERT INTO postings (transfer_id, account_id, amount)
    SELECT NEW.id, json_extract(value, '$[0]'), json_extract(value, '$[1]')
    FROM json_each(NEW.legs);
    UPDATE book_totals SET value = value + 1 WHERE name = 'transfers';
END;
