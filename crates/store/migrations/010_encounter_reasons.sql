-- Why the patient came (the chief complaint), per encounter: projected from the signed
-- encounter_reason_set operations, the latest by time (then by operation hash) kept.
ALTER TABLE encounters ADD COLUMN reason TEXT;
ALTER TABLE encounters ADD COLUMN reason_at INTEGER;
ALTER TABLE encounters ADD COLUMN reason_op BLOB;
