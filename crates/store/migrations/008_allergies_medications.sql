-- Allergies and medications: projections of signed operations (allergy_recorded,
-- allergy_removed, no_known_allergies, medication_prescribed, medication_stopped), rebuilt
-- from the log like every other chart table.
--
-- A chart's allergy status is read from these: an active allergy means "allergies"; else a
-- recorded "no known drug allergies" means "none known"; else "not asked yet". Nobody is ever
-- shown as allergy-free because nobody asked.
CREATE TABLE allergies (
    id             TEXT PRIMARY KEY,
    patient_id     TEXT NOT NULL,
    substance      TEXT NOT NULL,             -- as typed
    code           TEXT,                      -- atc:J01CA04 or group:penicillins; NULL: unchecked
    reaction       TEXT NOT NULL,
    severity       TEXT NOT NULL CHECK (severity IN ('mild', 'moderate', 'severe')),
    recorded_at    INTEGER NOT NULL,
    recorded_by    TEXT NOT NULL,
    removed_at     INTEGER,
    removed_by     TEXT,
    removed_reason TEXT
);
CREATE INDEX allergies_patient ON allergies(patient_id, recorded_at);

-- "Asked, and no known drug allergies": every time it was recorded (the newest is shown).
CREATE TABLE allergy_reviews (
    op_hash      BLOB PRIMARY KEY,
    patient_id   TEXT NOT NULL,
    recorded_at  INTEGER NOT NULL,
    recorded_by  TEXT NOT NULL
);
CREATE INDEX allergy_reviews_patient ON allergy_reviews(patient_id, recorded_at);

CREATE TABLE medications (
    id              TEXT PRIMARY KEY,
    patient_id      TEXT NOT NULL,
    encounter_id    TEXT,
    atc             TEXT,                     -- NULL: a drug outside the catalogue, unchecked
    drug            TEXT NOT NULL,
    dose            TEXT NOT NULL,
    route           TEXT NOT NULL,
    frequency       TEXT NOT NULL,
    duration        TEXT NOT NULL,
    instructions    TEXT NOT NULL,
    override_reason TEXT,                     -- why it was prescribed despite an allergy
    prescribed_at   INTEGER NOT NULL,
    prescribed_by   TEXT NOT NULL,
    stopped_at      INTEGER,
    stopped_by      TEXT,
    stopped_reason  TEXT
);
CREATE INDEX medications_patient ON medications(patient_id, prescribed_at);
