-- A vital sign entered in error (a keyboard slip, the wrong patient) is struck through, never
-- deleted: projected from the signed vital_entered_in_error operation (kind 0x0048) like an
-- allergy's removal, the earliest such operation kept (on a tie of times, the lowest hash).
ALTER TABLE vitals ADD COLUMN error_at INTEGER;
ALTER TABLE vitals ADD COLUMN error_by TEXT;
ALTER TABLE vitals ADD COLUMN error_reason TEXT;
ALTER TABLE vitals ADD COLUMN error_op BLOB;
