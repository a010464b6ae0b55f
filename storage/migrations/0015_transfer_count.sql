-- The number of transfers, kept by trigger like the book's other totals, for /healthz and
-- /metrics. It was read as MAX(id), which is the count only while ids have no gaps; on
-- PostgreSQL a rolled-back insert uses up its id, so both engines now count the same way.
INSERT INTO book_totals (name, value) VALUES ('transfers', (SELECT COUNT(*) FROM transfers));
CREATE TRIGGER book_totals_transfers AFTER INSERT ON transfers
BEGIN UPDATE book_totals SET value = value + 1 WHERE name = 'transfers'; END;
