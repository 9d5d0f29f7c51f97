-- The problem list: diagnoses (ICD-10-CM coded, or text only), projected from the signed
-- problem_added and problem_resolved operations like every other chart table.
CREATE TABLE problems (
    id              TEXT PRIMARY KEY,
    patient_id      TEXT NOT NULL,
    encounter_id    TEXT,
    code            TEXT,                      -- ICD-10-CM; NULL: written as text only
    title           TEXT NOT NULL,
    onset           TEXT,                      -- YYYY-MM-DD
    recorded_at     INTEGER NOT NULL,
    recorded_by     TEXT NOT NULL,
    resolved_at     INTEGER,
    resolved_by     TEXT,
    resolved_reason TEXT,
    resolved_op     BLOB
);
CREATE INDEX problems_patient ON problems(patient_id, recorded_at);

-- Which operation ended an allergy or a prescription: when two devices end the same record at
-- the same instant, the lower operation hash wins, whatever order they arrive in (so the table
-- rebuilt from the log is the table kept live).
ALTER TABLE allergies ADD COLUMN removed_op BLOB;
ALTER TABLE medications ADD COLUMN stopped_op BLOB;
