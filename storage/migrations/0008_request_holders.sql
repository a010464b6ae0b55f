-- Who opened each open-link or card request by its token. Holding the link is what gives a
-- person the right to see or take such a request; request ids are sequential, so an id in a
-- forged button gives none. Kept in the book, so the right survives restarts.
CREATE TABLE cover_request_holders (
    request_id INTEGER NOT NULL REFERENCES cover_requests (id),
    user_id    INTEGER NOT NULL,
    opened_at  TEXT    NOT NULL,
    PRIMARY KEY (request_id, user_id)
) WITHOUT ROWID;

-- Requests opened before this table existed: their first opener is in the event log.
INSERT OR IGNORE INTO cover_request_holders (request_id, user_id, opened_at)
SELECT CAST(substr(subject, 7) AS INTEGER), json_extract(data, '$.by'), occurred_at
FROM events WHERE kind = 'cover.opened' AND json_extract(data, '$.by') IS NOT NULL
  AND EXISTS (SELECT 1 FROM cover_requests r
              WHERE r.id = CAST(substr(events.subject, 7) AS INTEGER));
