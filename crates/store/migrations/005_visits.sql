-- Video visits. A physician's device keeps the visits it invited patients to (`host`); a
-- patient's profile keeps the visit codes it holds (`guest`). The secret proves, in the
-- patient's knock, that the device knocking got the code; it never leaves this database
-- except inside the code itself. Local state, not clinical facts: never synced.
CREATE TABLE visits (
    id             TEXT PRIMARY KEY,           -- visit id (hex)
    side           TEXT NOT NULL CHECK (side IN ('host', 'guest')),
    secret         BLOB NOT NULL,
    patient        TEXT,                       -- host: the chart the visit is for
    workspace      TEXT NOT NULL,
    relay          TEXT NOT NULL,
    host_identity  BLOB NOT NULL,              -- the physician's device identity (64 bytes)
    expires_at     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    used_by        BLOB,                       -- host: the patient device identity admitted
    used_at        INTEGER
);
