-- Risk monitoring: alerts raised by the rules, kept until they clear; freezes are events.

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    key         TEXT    NOT NULL,               -- the finding: rule and subject, stable
    rule        TEXT    NOT NULL,
    severity    TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    subject     TEXT    NOT NULL,               -- user:<id>, instalment:<id>, ...
    evidence    TEXT    NOT NULL DEFAULT '{}',
    status      TEXT    NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'acknowledged', 'cleared')),
    raised_at   TEXT    NOT NULL,
    acked_by    INTEGER,
    acked_at    TEXT,
    cleared_at  TEXT
);
-- A finding is raised once until it clears: one alert per key that has not cleared.
CREATE UNIQUE INDEX alerts_one_per_finding ON alerts (key) WHERE status != 'cleared';
CREATE INDEX alerts_by_status ON alerts (status, id);
CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
BEGIN SELECT RAISE(ABORT, 'alerts are never deleted'); END;

CREATE INDEX events_by_kind ON events (kind, occurred_at);
CREATE INDEX agreements_active_pairs ON agreements (status, friend_id, borrower_id);
