-- A user's updates waiting to be handled, in order: read under that user's lock before
-- each of their updates is handled (bot.inbox: Inbox.turn), so that one kept earlier by
-- another worker, or by one that is gone, is handled first.
CREATE INDEX inbox_waiting_by_user ON inbox (user_key, update_id) WHERE handled_at IS NULL;
