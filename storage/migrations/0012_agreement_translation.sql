-- Each party reads the agreement in their own language: the friend signs the text in
-- theirs (the original), and a translation into the other language, rendered from the
-- same terms at the same moment, is kept beside it, never to change either.
ALTER TABLE agreements ADD COLUMN translation TEXT;
ALTER TABLE agreements ADD COLUMN translation_language TEXT;

DROP TRIGGER agreements_signed_text_is_final;
CREATE TRIGGER agreements_signed_text_is_final
BEFORE UPDATE OF request_id, borrower_id, friend_id, bill_id, share_bp, version, language, text,
                 text_sha256, signed_at, shown_chat_id, shown_message_id, translation,
                 translation_language ON agreements
BEGIN SELECT RAISE(ABORT, 'a signed agreement never changes'); END;
