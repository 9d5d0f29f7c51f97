-- Migration 009 added the operation that ended an allergy (removed_op) or a prescription
-- (stopped_op) but left both empty on rows ended before it, while a rebuild from the log
-- fills them in: the audit check would have called an upgraded profile edited. Fill them in
-- from the log the same way the projection does: the earliest ending operation, on a tie of
-- times the lowest hash (kinds 0x0042 allergy_removed = 66, 0x0045 medication_stopped = 69).
UPDATE allergies SET removed_op = (
    SELECT hash FROM ops
    WHERE kind = 66 AND target = allergies.id AND hlc_wall = allergies.removed_at
    ORDER BY hash LIMIT 1
) WHERE removed_at IS NOT NULL AND removed_op IS NULL;
UPDATE medications SET stopped_op = (
    SELECT hash FROM ops
    WHERE kind = 69 AND target = medications.id AND hlc_wall = medications.stopped_at
    ORDER BY hash LIMIT 1
) WHERE stopped_at IS NOT NULL AND stopped_op IS NULL;
