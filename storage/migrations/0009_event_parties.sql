-- Every event names every person it concerns (``parties``, a JSON array of user ids), and
-- event_parties indexes them, so one person's audit export is a range of an index rather
-- than a guess at JSON fields: a friend's debits name the friend, a borrower's request
-- events name the borrower. The log stays append-only; the index is filled by trigger.
ALTER TABLE events ADD COLUMN parties TEXT NOT NULL DEFAULT '[]';

CREATE TABLE event_parties (
    user_id  INTEGER NOT NULL,
    event_id INTEGER NOT NULL REFERENCES events (id),
    PRIMARY KEY (user_id, event_id)
) WITHOUT ROWID;

CREATE TRIGGER events_index_parties AFTER INSERT ON events
BEGIN
    INSERT OR IGNORE INTO event_parties (user_id, event_id)
    SELECT value, NEW.id FROM json_each(NEW.parties) WHERE typeof(value) = 'integer';
END;
CREATE TRIGGER event_parties_append_only_u BEFORE UPDATE ON event_parties
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER event_parties_append_only_d BEFORE DELETE ON event_parties
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- Events written before: their parties, from what they recorded and what they are about.
-- Adding a derived column is the one write the append-only rule lets a migration make, so
-- the trigger steps aside for this statement alone, inside this migration's transaction.
DROP TRIGGER events_append_only_u;
-- Each lookup is by primary key (the id parsed out of the subject), so this costs one probe
-- per event and table, not a scan: a book of millions of events migrates in seconds.
UPDATE events SET parties = COALESCE((
    SELECT json_group_array(DISTINCT id) FROM (
        SELECT CAST(substr(events.actor, instr(events.actor, ':') + 1) AS INTEGER) AS id
        WHERE events.actor LIKE 'user:%' OR events.actor LIKE 'operator:%'
        UNION SELECT CAST(substr(events.subject, 6) AS INTEGER) WHERE events.subject LIKE 'user:%'
        UNION SELECT json_extract(events.data, '$.' || key.name) FROM (
            SELECT 'borrower' AS name UNION SELECT 'friend' UNION SELECT 'by' UNION SELECT 'to'
            UNION SELECT 'verified_user') AS key
        UNION SELECT r.borrower_id FROM cover_requests r WHERE events.subject LIKE 'cover:%'
            AND r.id = CAST(substr(events.subject, 7) AS INTEGER)
        UNION SELECT r.friend_id FROM cover_requests r WHERE events.subject LIKE 'cover:%'
            AND r.id = CAST(substr(events.subject, 7) AS INTEGER)
        UNION SELECT a.borrower_id FROM agreements a WHERE events.subject LIKE 'agreement:%'
            AND a.id = CAST(substr(events.subject, 11) AS INTEGER)
        UNION SELECT a.friend_id FROM agreements a WHERE events.subject LIKE 'agreement:%'
            AND a.id = CAST(substr(events.subject, 11) AS INTEGER)
        UNION SELECT b.borrower_id FROM instalments i JOIN bills b ON b.id = i.bill_id
            WHERE events.subject LIKE 'instalment:%'
              AND i.id = CAST(substr(events.subject, 12) AS INTEGER)
        UNION SELECT a.friend_id FROM agreements a
            WHERE events.subject LIKE 'instalment:%'
              AND a.id = json_extract(events.data, '$.agreement')
        UNION SELECT b.borrower_id FROM bills b WHERE events.subject LIKE 'bill:%'
            AND b.id = CAST(substr(events.subject, 6) AS INTEGER)
        UNION SELECT CAST(substr(al.subject, 6) AS INTEGER) FROM alerts al
            WHERE events.subject LIKE 'alert:%' AND al.subject LIKE 'user:%'
              AND al.id = CAST(substr(events.subject, 7) AS INTEGER)
        UNION SELECT json_extract(al.evidence, '$.borrower') FROM alerts al
            WHERE events.subject LIKE 'alert:%'
              AND al.id = CAST(substr(events.subject, 7) AS INTEGER)
        UNION SELECT json_extract(al.evidence, '$.other_user') FROM alerts al
            WHERE events.subject LIKE 'alert:%'
              AND al.id = CAST(substr(events.subject, 7) AS INTEGER)
        UNION SELECT u.value FROM alerts al, json_each(al.evidence, '$.users') u
            WHERE events.subject LIKE 'alert:%'
              AND al.id = CAST(substr(events.subject, 7) AS INTEGER)
    ) WHERE typeof(id) = 'integer' AND id != 0), '[]');
CREATE TRIGGER events_append_only_u BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

INSERT OR IGNORE INTO event_parties (user_id, event_id)
SELECT p.value, e.id FROM events e, json_each(e.parties) p WHERE typeof(p.value) = 'integer';
