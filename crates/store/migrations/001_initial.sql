-- Outpost store, schema version 1: users, patients, encounters, notes, vitals, attachments, audit.
-- Times are UTC milliseconds since the Unix epoch; ids are 32 lowercase hex characters.

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('physician', 'nurse', 'admin', 'patient')),
    created_at  INTEGER NOT NULL
);

CREATE TABLE patients (
    id          TEXT PRIMARY KEY,
    given_name  TEXT NOT NULL,
    family_name TEXT NOT NULL,
    birth_date  TEXT NOT NULL,           -- YYYY-MM-DD
    sex         TEXT,
    clinic_id   TEXT,
    contact     TEXT,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users(id)
);
CREATE INDEX patients_family ON patients(family_name, given_name);
CREATE UNIQUE INDEX patients_clinic_id ON patients(clinic_id) WHERE clinic_id IS NOT NULL;

CREATE TABLE encounters (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL REFERENCES patients(id),
    kind          TEXT NOT NULL CHECK (kind IN ('video', 'in_person', 'async_consult')),
    status        TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'finished', 'cancelled')),
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    practitioner  TEXT NOT NULL REFERENCES users(id)
);
CREATE INDEX encounters_patient ON encounters(patient_id, started_at);

CREATE TABLE notes (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patients(id),
    encounter_id TEXT REFERENCES encounters(id),
    author      TEXT NOT NULL REFERENCES users(id),
    subjective  TEXT NOT NULL,
    objective   TEXT NOT NULL,
    assessment  TEXT NOT NULL,
    plan        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    signed_at   INTEGER,
    signed_by   TEXT REFERENCES users(id),
    content_hash TEXT                    -- SHA-256 of the signed content, set at signing
);
CREATE INDEX notes_patient ON notes(patient_id, created_at);

-- A signed note is immutable: clinical facts are appended (addenda), never overwritten.
CREATE TRIGGER notes_signed_immutable BEFORE UPDATE ON notes
WHEN OLD.signed_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'signed note is immutable');
END;
CREATE TRIGGER notes_signed_undeletable BEFORE DELETE ON notes
WHEN OLD.signed_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'signed note is immutable');
END;

CREATE TABLE addenda (
    id          TEXT PRIMARY KEY,
    note_id     TEXT NOT NULL REFERENCES notes(id),
    author      TEXT NOT NULL REFERENCES users(id),
    text        TEXT NOT NULL,
    signed_at   INTEGER NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE INDEX addenda_note ON addenda(note_id, signed_at);
CREATE TRIGGER addenda_immutable BEFORE UPDATE ON addenda
BEGIN
    SELECT RAISE(ABORT, 'addendum is immutable');
END;
CREATE TRIGGER addenda_undeletable BEFORE DELETE ON addenda
BEGIN
    SELECT RAISE(ABORT, 'addendum is immutable');
END;

CREATE TABLE vitals (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL REFERENCES patients(id),
    encounter_id  TEXT REFERENCES encounters(id),
    code          TEXT NOT NULL,          -- LOINC
    value         REAL NOT NULL,
    value2        REAL,                   -- diastolic for blood pressure
    unit          TEXT NOT NULL,          -- UCUM
    observed_at   INTEGER NOT NULL,
    recorded_by   TEXT NOT NULL REFERENCES users(id)
);
CREATE INDEX vitals_patient ON vitals(patient_id, code, observed_at);

CREATE TABLE attachments (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patients(id),
    encounter_id TEXT REFERENCES encounters(id),
    file_name   TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users(id)
);
CREATE INDEX attachments_patient ON attachments(patient_id, created_at);

-- Attachment bytes in fixed-size chunks, so no read or write needs the whole file in memory.
CREATE TABLE attachment_chunks (
    attachment_id TEXT NOT NULL,
    idx           INTEGER NOT NULL,
    data          BLOB NOT NULL,
    PRIMARY KEY (attachment_id, idx)
) WITHOUT ROWID;

CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,      -- 1, 2, 3, ... without gaps
    at          INTEGER NOT NULL,
    actor       TEXT,                     -- user id; NULL for a failed unlock
    action      TEXT NOT NULL,
    record_kind TEXT,
    record_id   TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
