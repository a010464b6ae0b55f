-- Before numbers were made canonical, an ID or phone number typed with digits of another
-- script (Arabic-Indic ٣, Devanagari ३) was hashed as typed, so the same number could verify
-- on a second account and the duplicate checks missed it. Only the masks can show such a
-- row (they keep the first and last four characters; digits 5-14 leave no trace). Each row
-- found becomes a high alert: an operator asks the person to verify again and looks for a
-- second account. The bot tells operators about open alerts when it starts.
INSERT INTO alerts (key, rule, severity, subject, evidence, raised_at)
SELECT 'non_canonical_identity:user:' || user_id, 'non_canonical_identity', 'high',
       'user:' || user_id, json_object('id_mask', id_mask, 'phone_mask', phone_mask),
       strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now')
FROM identities
WHERE (id_mask GLOB '*[^0-9X*]*' OR phone_mask GLOB '*[^0-9+*]*')
  AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.status != 'cleared'
                  AND a.key = 'non_canonical_identity:user:' || identities.user_id);

INSERT INTO events (occurred_at, actor, subject, kind, data)
SELECT raised_at, 'system', 'alert:' || id, 'alert.raised',
       json_object('rule', rule, 'subject', subject, 'severity', severity,
                   'evidence', json(evidence))
FROM alerts WHERE rule = 'non_canonical_identity'
  AND NOT EXISTS (SELECT 1 FROM events e WHERE e.subject = 'alert:' || alerts.id);
