-- An instalment is never covered for more than is left of it: paid so far plus friends'
-- parts still to debit never exceed its amount, whatever the code above does.
CREATE TRIGGER agreement_instalments_within_room BEFORE INSERT ON agreement_instalments
WHEN NEW.amount
     + (SELECT paid_amount FROM instalments WHERE id = NEW.instalment_id)
     + (SELECT COALESCE(SUM(amount), 0) FROM agreement_instalments
        WHERE instalment_id = NEW.instalment_id AND status = 'covered')
     > (SELECT principal + fee FROM instalments WHERE id = NEW.instalment_id)
BEGIN SELECT RAISE(ABORT, 'instalment covered for more than is left of it'); END;

CREATE TRIGGER agreement_instalments_cover_again BEFORE UPDATE OF status ON agreement_instalments
WHEN NEW.status = 'covered' AND OLD.status != 'covered'
BEGIN SELECT RAISE(ABORT, 'a part that left cover never comes back'); END;
