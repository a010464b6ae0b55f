-- Keep only what a feature reads. The birth date beside the mask (digits 1-4 and 15-18,
-- the check digit among them) left about two candidates for the whole ID number to anyone
-- with a copy of the book, no key needed; the phone hash was read by nothing.
DROP INDEX identities_by_phone;
ALTER TABLE identities DROP COLUMN birth_date;
ALTER TABLE identities DROP COLUMN phone_hash;
