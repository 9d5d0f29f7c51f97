-- Schema 4: care-team workspaces and sync.
--
-- New projections (rebuilt from the log like the others): the workspace, invites, devices'
-- owners and removals, key epochs, receipts, linked patients, uploaded attachments, and the
-- operations the log holds but whose author had no right to make them (`refused`).
-- New local state (not projections): group keys, sync progress, join requests and holes left
-- by envelopes that could not be read.

-- ---- Projections ----

CREATE TABLE workspace (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    workspace   TEXT NOT NULL,             -- workspace id, hex
    name        TEXT NOT NULL,
    relay       TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    op          BLOB NOT NULL
);

CREATE TABLE invites (
    id          TEXT PRIMARY KEY,
    role        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    secret_hash BLOB NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    used_by     TEXT                       -- the device admitted with it
);

-- Who a device belongs to (admitted devices), and from which sequence number on its
-- operations are refused (removed devices).
ALTER TABLE devices ADD COLUMN user TEXT;
ALTER TABLE devices ADD COLUMN removed_after INTEGER;
ALTER TABLE devices ADD COLUMN removed_at INTEGER;

CREATE TABLE epochs (
    op          BLOB PRIMARY KEY,          -- the epoch_started operation's hash
    epoch       INTEGER NOT NULL,
    members     BLOB NOT NULL,
    started_by  TEXT NOT NULL,
    device      TEXT NOT NULL,
    started_at  INTEGER NOT NULL
);

-- Per receiving device and author device, how far the receiver says it has applied.
CREATE TABLE receipts (
    device      TEXT NOT NULL,
    author      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (device, author)
) WITHOUT ROWID;

CREATE TABLE patient_links (
    patient_id  TEXT NOT NULL,
    other_id    TEXT NOT NULL,
    linked_by   TEXT NOT NULL,
    linked_at   INTEGER NOT NULL,
    PRIMARY KEY (patient_id, other_id)
);

CREATE TABLE attachment_uploads (
    attachment_id TEXT PRIMARY KEY,
    blob          BLOB NOT NULL,
    blob_size     INTEGER NOT NULL,
    content_key   BLOB NOT NULL,
    uploaded_by   TEXT NOT NULL
);

-- Operations stored in the log (authentic, linked) that their author had no right to make at
-- that point of the log: they change nothing, and are listed for review.
CREATE TABLE refused (
    hash        BLOB PRIMARY KEY,
    device      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    reason      TEXT NOT NULL
);

-- Membership changes that judge later operations of a person or device (role changes,
-- removals), by subject: an operation arriving with an earlier clock than one of these, or one
-- of these arriving with an earlier clock than the subject's operations, makes the device
-- replay the log so every device judges in the same order.
CREATE TABLE membership_events (
    subject     TEXT NOT NULL,             -- user or device id, hex
    hlc_wall    INTEGER NOT NULL,
    hlc_counter INTEGER NOT NULL,
    op          BLOB NOT NULL,
    PRIMARY KEY (subject, op)
);

-- ---- Local state ----

-- Group keys this device holds, per epoch and the commit (epoch_started operation) they are
-- bound to. Deleted after their grace period.
-- A key delivered to a device that cannot yet check who sent it (a device joining, before
-- the log arrives) opens envelopes but seals nothing until it is confirmed: its commit is in
-- the log, made by a manager on the device that delivered it.
CREATE TABLE group_keys (
    epoch         INTEGER NOT NULL,
    commit_hash   BLOB NOT NULL,
    secret        BLOB NOT NULL,
    sender        BLOB NOT NULL,           -- the delivering device's public identity
    confirmed     INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (epoch, commit_hash)
);

-- Sync progress: how far the relay holds this device's log, when sync last succeeded, what
-- it last said.
CREATE TABLE sync_state (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);

-- Join requests received by this (admin) device, awaiting admission.
CREATE TABLE join_requests (
    device      TEXT PRIMARY KEY,
    invite      TEXT NOT NULL,
    identity    BLOB NOT NULL,
    user_id     TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    user_identity BLOB NOT NULL,
    device_name TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    status      TEXT NOT NULL              -- pending, admitted, refused
);

-- Places in another device's log whose envelope could not be read (tampered, or sealed under
-- a key this device does not hold): the device's later operations are taken all the same,
-- and the hole is reported, never silently skipped.
CREATE TABLE holes (
    device      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    found_at    INTEGER NOT NULL,
    PRIMARY KEY (device, seq)
);

-- Members a person here has verified in person or by phone (their safety number matched).
CREATE TABLE verified_members (
    user_id     TEXT PRIMARY KEY,
    identity    BLOB NOT NULL,
    verified_by TEXT NOT NULL,
    verified_at INTEGER NOT NULL
);

-- Attachment transfers in progress (resumable uploads and downloads).
CREATE TABLE transfers (
    attachment_id TEXT PRIMARY KEY,
    direction     TEXT NOT NULL,           -- up, down
    done          INTEGER NOT NULL,        -- bytes confirmed
    blob          BLOB,
    content_key   BLOB,
    updated_at    INTEGER NOT NULL
);

-- Requests for the relay made while offline (register an invite, admit or remove a device),
-- carried out at the next sync, in order.
CREATE TABLE relay_tasks (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,             -- invite, set_device, remove_device, direct
    body        BLOB NOT NULL,             -- the canonical request
    created_at  INTEGER NOT NULL
);

-- Device removals' cut-offs known to a replay in progress (empty otherwise): see
-- `verify::rebuild_projections`.
CREATE TABLE replay_cutoffs (
    device      TEXT PRIMARY KEY,
    after_seq   INTEGER NOT NULL
);
