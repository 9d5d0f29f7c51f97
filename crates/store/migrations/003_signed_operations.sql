-- Outpost store, schema version 3: every change is a signed operation; the record tables are
-- projections of the operation log, rebuilt by one apply path.
--
-- The schema 2 tables are renamed legacy_*; at the first unlock after this migration the
-- unlocking user imports their rows as signed legacy_record operations ("recorded before
-- signatures") and drops them, in one transaction. legacy_audit stays: the old hash-chained
-- trail, sealed by an operation that records its length and head hash.

ALTER TABLE users RENAME TO legacy_users;
ALTER TABLE patients RENAME TO legacy_patients;
ALTER TABLE encounters RENAME TO legacy_encounters;
ALTER TABLE notes RENAME TO legacy_notes;
ALTER TABLE addenda RENAME TO legacy_addenda;
ALTER TABLE vitals RENAME TO legacy_vitals;
ALTER TABLE attachments RENAME TO legacy_attachments;
ALTER TABLE audit RENAME TO legacy_audit;
-- Chunks keep their table: content is not a projection. Legacy chunks are re-keyed by
-- content hash during the import.
ALTER TABLE attachment_chunks RENAME TO legacy_attachment_chunks;
DROP INDEX patients_family;
DROP INDEX patients_clinic_id;
DROP INDEX encounters_patient;
DROP INDEX notes_patient;
DROP INDEX addenda_note;
DROP INDEX vitals_patient;
DROP INDEX attachments_patient;

-- Key-value facts about this database (profile kind, legacy import state).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- This installation's own device identity, wrapped under a key derived from the database key.
-- Not a projection: it is what signs nothing but is named by every operation's device field.
CREATE TABLE local_device (
    id          TEXT PRIMARY KEY,          -- device id, hex
    wrapped     BLOB NOT NULL,             -- outpost_crypto wrapped identity
    created_at  INTEGER NOT NULL,
    current     INTEGER NOT NULL CHECK (current IN (0, 1))
);
CREATE UNIQUE INDEX local_device_current ON local_device(current) WHERE current = 1;

-- The operation log: every device's signed, hash-linked operations. Append-only.
CREATE TABLE ops (
    device      TEXT NOT NULL,             -- author device id, hex
    seq         INTEGER NOT NULL,
    hlc_wall    INTEGER NOT NULL,
    hlc_counter INTEGER NOT NULL,
    actor       TEXT NOT NULL,             -- user id, hex
    kind        INTEGER NOT NULL,
    target      TEXT NOT NULL,             -- record id, hex
    patient     TEXT,                      -- the patient concerned, for the audit view
    hash        BLOB NOT NULL UNIQUE,
    bytes       BLOB NOT NULL,
    PRIMARY KEY (device, seq)
);
CREATE INDEX ops_order ON ops(hlc_wall, hlc_counter, device, seq);
CREATE INDEX ops_target ON ops(target);
-- The audit view filters by patient; by user it scans (a rarer question, worth a page write
-- per change less).
CREATE INDEX ops_patient ON ops(patient);
CREATE TRIGGER ops_no_update BEFORE UPDATE ON ops
BEGIN
    SELECT RAISE(ABORT, 'operation log is append-only');
END;
CREATE TRIGGER ops_no_delete BEFORE DELETE ON ops
BEGIN
    SELECT RAISE(ABORT, 'operation log is append-only');
END;

-- Operations that failed verification or authorization: never applied, kept for review.
CREATE TABLE quarantine (
    device      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hash        BLOB NOT NULL,
    reason      TEXT NOT NULL,
    found_at    INTEGER NOT NULL,
    bytes       BLOB NOT NULL,
    PRIMARY KEY (device, seq, hash)
);

-- Attachment content by SHA-256, in chunks. Content, not a projection.
CREATE TABLE blobs (
    sha256      BLOB NOT NULL,
    idx         INTEGER NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (sha256, idx)
) WITHOUT ROWID;

-- ---- Projections (rebuilt from ops by apply) ----

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    signing_key   BLOB,                    -- NULL: a legacy user who has not unlocked since
    agreement_key BLOB,
    added_by      TEXT NOT NULL,
    added_at      INTEGER NOT NULL,
    removed_at    INTEGER,
    legacy        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    identity      BLOB NOT NULL,
    name          TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    registered_at INTEGER NOT NULL
);

CREATE TABLE patients (
    id          TEXT PRIMARY KEY,
    given_name  TEXT NOT NULL,
    family_name TEXT NOT NULL,
    birth_date  TEXT NOT NULL,
    sex         TEXT,
    clinic_id   TEXT,
    contact     TEXT,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    legacy      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX patients_family ON patients(family_name, given_name);
-- Not unique: two offline devices may register the same number; that is a possible duplicate
-- to show, not a reason to refuse a synced record. Local registration checks it.
CREATE INDEX patients_clinic_id ON patients(clinic_id);

-- Current writes of each demographic field: one row normally, several while edits conflict.
CREATE TABLE patient_field_heads (
    patient_id  TEXT NOT NULL,
    field       TEXT NOT NULL,
    op          BLOB NOT NULL,
    value       TEXT,
    hlc_wall    INTEGER NOT NULL,
    hlc_counter INTEGER NOT NULL,
    device      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (patient_id, field, op)
);
-- Field writes that a later write replaced (kept so that arrival order does not matter).
CREATE TABLE patient_field_replaced (
    op          BLOB PRIMARY KEY
);

CREATE TABLE encounters (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    practitioner  TEXT NOT NULL,
    legacy        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX encounters_patient ON encounters(patient_id, started_at);

CREATE TABLE notes (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL,
    encounter_id  TEXT,
    author        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    signed_op     BLOB,                    -- hash of the note_signed operation
    signed_at     INTEGER,
    signed_by     TEXT,
    legacy        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notes_patient ON notes(patient_id, created_at);

-- Every saved text of every note: revisions are never overwritten. The text itself stays in
-- the operation that wrote it (`op`), so a save writes it once.
CREATE TABLE note_revisions (
    op          BLOB PRIMARY KEY,          -- hash of the operation that wrote it
    note_id     TEXT NOT NULL,
    author      TEXT NOT NULL,
    hlc_wall    INTEGER NOT NULL,
    hlc_counter INTEGER NOT NULL,
    device      TEXT NOT NULL,
    seq         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX note_revisions_note ON note_revisions(note_id);
-- Which revisions each revision replaced; a revision nobody replaced is a current text.
CREATE TABLE note_revision_bases (
    revision    BLOB NOT NULL,
    base        BLOB NOT NULL,
    PRIMARY KEY (revision, base)
) WITHOUT ROWID;
CREATE INDEX note_revision_bases_base ON note_revision_bases(base);

CREATE TABLE addenda (
    id          TEXT PRIMARY KEY,
    note_id     TEXT NOT NULL,
    author      TEXT NOT NULL,
    text        TEXT NOT NULL,
    signed_at   INTEGER NOT NULL,
    op          BLOB NOT NULL,
    legacy      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX addenda_note ON addenda(note_id, signed_at);

CREATE TABLE vitals (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL,
    encounter_id  TEXT,
    code          TEXT NOT NULL,
    value         REAL NOT NULL,
    value2        REAL,
    unit          TEXT NOT NULL,
    observed_at   INTEGER NOT NULL,
    recorded_by   TEXT NOT NULL,
    legacy        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX vitals_patient ON vitals(patient_id, code, observed_at);

CREATE TABLE attachments (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL,
    encounter_id  TEXT,
    file_name     TEXT NOT NULL,
    media_type    TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    legacy        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attachments_patient ON attachments(patient_id, created_at);
