//! The embedded backend: one SQLite file (WAL, `synchronous = FULL`, so a commit is on disk
//! before the relay acknowledges it), one writer connection and a few readers, each call on
//! tokio's blocking pool.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use outpost_proto::{
    DeviceId, InviteId, VisitId, WorkspaceId,
    canon::Bytes,
    payload::Watermark,
    relay::{BlobStatus, DIRECT_JOIN, DirectMessage},
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use super::{DeviceRecord, DeviceStatus, NewEnvelope, Pulled, Storage, StorageError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS workspaces (
    id BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
    workspace BLOB NOT NULL,
    id BLOB NOT NULL,
    identity BLOB NOT NULL,
    admin INTEGER NOT NULL,
    status TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS visits (
    workspace BLOB NOT NULL,
    id BLOB NOT NULL,
    host BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    guest BLOB,
    PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS invites (
    workspace BLOB NOT NULL,
    id BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS envelopes (
    workspace BLOB NOT NULL,
    author BLOB NOT NULL,
    seq INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (workspace, author, seq)
);
CREATE TABLE IF NOT EXISTS heads (
    workspace BLOB NOT NULL,
    author BLOB NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (workspace, author)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS direct (
    id INTEGER PRIMARY KEY,
    workspace BLOB NOT NULL,
    recipient BLOB NOT NULL,
    sender BLOB NOT NULL,
    kind INTEGER NOT NULL,
    body BLOB NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS direct_by_recipient ON direct (workspace, recipient, id);
CREATE TABLE IF NOT EXISTS blobs (
    workspace BLOB NOT NULL,
    id BLOB NOT NULL,
    owner BLOB NOT NULL,
    received INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blob_chunks (
    workspace BLOB NOT NULL,
    blob BLOB NOT NULL,
    start INTEGER NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (workspace, blob, start)
);
CREATE TABLE IF NOT EXISTS usage (
    workspace BLOB NOT NULL,
    device BLOB NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (workspace, device)
) WITHOUT ROWID;
PRAGMA user_version = 1;
";

/// How many read connections are kept.
const READERS: usize = 4;

/// The SQLite backend (see the module docs).
#[derive(Clone)]
pub struct SqliteStorage {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    appends: Mutex<std::sync::mpsc::Sender<AppendJob>>,
}

fn backend(e: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(e.to_string())
}

impl From<rusqlite::types::FromSqlError> for StorageError {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        backend(e)
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        backend(e)
    }
}

fn open(path: &Path) -> Result<Connection, StorageError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

fn seq_i64(seq: u64) -> Result<i64, StorageError> {
    i64::try_from(seq).map_err(|_| StorageError::Backend("sequence number out of range".into()))
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn device_id(bytes: &[u8]) -> Result<DeviceId, StorageError> {
    Ok(DeviceId(bytes.try_into().map_err(|_| {
        StorageError::Backend("a stored device id has the wrong length".into())
    })?))
}

impl SqliteStorage {
    /// Opens (creating if needed) `relay.sqlite` in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir).map_err(backend)?;
        let path = dir.join("relay.sqlite");
        let writer = open(&path)?;
        writer.execute_batch(SCHEMA)?;
        let (appends, jobs) = std::sync::mpsc::channel();
        let inner = Arc::new(Inner {
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            appends: Mutex::new(appends),
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("relay-writer".into())
            .spawn(move || group_writer(&weak, &jobs))
            .map_err(backend)?;
        Ok(Self { inner })
    }

    /// Where the database is.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .writer
                .lock()
                .map_err(|_| StorageError::Backend("writer lock poisoned".into()))?;
            f(&mut conn)
        })
        .await
        .map_err(backend)?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers.lock().ok().and_then(|mut r| r.pop());
            let conn = match conn {
                Some(c) => c,
                None => open(&inner.path)?,
            };
            let result = f(&conn);
            if let Ok(mut pool) = inner.readers.lock()
                && pool.len() < READERS
            {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(backend)?
    }
}

fn add_usage(
    tx: &Connection,
    ws: &WorkspaceId,
    device: &DeviceId,
    bytes: usize,
    quota: u64,
) -> Result<(), StorageError> {
    let used: i64 = tx
        .query_row(
            "SELECT bytes FROM usage WHERE workspace = ?1 AND device = ?2",
            params![ws.0, device.0],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
    let total = u64_of(used).saturating_add(bytes);
    if total > quota {
        return Err(StorageError::Quota);
    }
    tx.execute(
        "INSERT INTO usage (workspace, device, bytes) VALUES (?1, ?2, ?3)
         ON CONFLICT (workspace, device) DO UPDATE SET bytes = excluded.bytes",
        params![ws.0, device.0, i64::try_from(total).unwrap_or(i64::MAX)],
    )?;
    Ok(())
}

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Vec<u8>, Vec<u8>, bool, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn to_record(
    (id, identity, admin, status): (Vec<u8>, Vec<u8>, bool, String),
) -> Result<DeviceRecord, StorageError> {
    Ok(DeviceRecord {
        id: device_id(&id)?,
        identity: identity
            .try_into()
            .map_err(|_| StorageError::Backend("a stored identity has the wrong length".into()))?,
        admin,
        status: DeviceStatus::from_name(&status)
            .ok_or_else(|| StorageError::Backend("unknown device status".into()))?,
    })
}

fn upsert_device(
    tx: &Connection,
    ws: &WorkspaceId,
    d: &DeviceRecord,
    now: i64,
) -> Result<(), StorageError> {
    // A removed device never comes back (a lost laptop stays out).
    tx.execute(
        "INSERT INTO devices (workspace, id, identity, admin, status, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (workspace, id) DO UPDATE SET
            admin = excluded.admin, status = excluded.status, updated_at = excluded.updated_at
         WHERE devices.status != 'removed'",
        params![
            ws.0,
            d.id.0,
            d.identity.as_slice(),
            d.admin,
            d.status.as_str(),
            now
        ],
    )?;
    Ok(())
}

/// One device's push, waiting for the group commit.
struct AppendJob {
    workspace: WorkspaceId,
    author: DeviceId,
    envelopes: Vec<NewEnvelope>,
    quota: u64,
    now: i64,
    reply: tokio::sync::oneshot::Sender<Result<u64, StorageError>>,
}

/// Most pushes committed together.
const GROUP: usize = 128;

/// The group commit: pushes that arrive while one commit is on its way to disk are appended in
/// the next transaction together (each in its own savepoint, so one refused push refuses only
/// itself), and all are answered once that commit is durable. Many devices pushing at once
/// then cost one disk sync per batch instead of one each.
fn group_writer(inner: &std::sync::Weak<Inner>, jobs: &std::sync::mpsc::Receiver<AppendJob>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < GROUP {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let results = match inner.writer.lock() {
            Ok(mut conn) => commit_group(&mut conn, &batch),
            Err(_) => Err(StorageError::Backend("writer lock poisoned".into())),
        };
        match results {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                for job in batch {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

fn commit_group(
    conn: &mut Connection,
    batch: &[AppendJob],
) -> Result<Vec<Result<u64, StorageError>>, StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        tx.execute_batch("SAVEPOINT push")?;
        let result = append_one(&tx, job);
        if result.is_err() {
            tx.execute_batch("ROLLBACK TO push")?;
        }
        tx.execute_batch("RELEASE push")?;
        results.push(result);
    }
    tx.commit()?;
    Ok(results)
}

fn append_one(tx: &Connection, job: &AppendJob) -> Result<u64, StorageError> {
    let mut head: u64 = tx
        .query_row(
            "SELECT seq FROM heads WHERE workspace = ?1 AND author = ?2",
            params![job.workspace.0, job.author.0],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .map_or(0, u64_of);
    let mut added = 0usize;
    for e in &job.envelopes {
        if e.seq <= head {
            // Already held: the same bytes are a retried push; others are a fork.
            let held: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT bytes FROM envelopes WHERE workspace = ?1 AND author = ?2 AND seq = ?3",
                    params![job.workspace.0, job.author.0, seq_i64(e.seq)?],
                    |r| r.get(0),
                )
                .optional()?;
            if held.as_deref() != Some(e.bytes.as_slice()) {
                return Err(StorageError::SequenceReused { seq: e.seq });
            }
            continue;
        }
        if e.seq != head + 1 {
            return Err(StorageError::Sequence { expected: head + 1 });
        }
        tx.prepare_cached(
            "INSERT INTO envelopes (workspace, author, seq, epoch, bytes, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            job.workspace.0,
            job.author.0,
            seq_i64(e.seq)?,
            e.epoch,
            e.bytes,
            job.now
        ])?;
        added += e.bytes.len();
        head = e.seq;
    }
    if added > 0 {
        add_usage(tx, &job.workspace, &job.author, added, job.quota)?;
        tx.execute(
            "INSERT INTO heads (workspace, author, seq) VALUES (?1, ?2, ?3)
                 ON CONFLICT (workspace, author) DO UPDATE SET seq = excluded.seq",
            params![job.workspace.0, job.author.0, seq_i64(head)?],
        )?;
    }
    Ok(head)
}

impl Storage for SqliteStorage {
    async fn create_workspace(
        &self,
        workspace: WorkspaceId,
        founder: DeviceRecord,
        now: i64,
    ) -> Result<(), StorageError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO workspaces (id, created_at) VALUES (?1, ?2)",
                params![workspace.0, now],
            )?;
            if inserted == 0 {
                return Err(StorageError::Exists);
            }
            upsert_device(&tx, &workspace, &founder, now)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn device(
        &self,
        workspace: WorkspaceId,
        device: DeviceId,
    ) -> Result<Option<DeviceRecord>, StorageError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT id, identity, admin, status FROM devices WHERE workspace = ?1 AND id = ?2",
            )?
            .query_row(params![workspace.0, device.0], device_row)
            .optional()?
            .map(to_record)
            .transpose()
        })
        .await
    }

    async fn set_device(
        &self,
        workspace: WorkspaceId,
        record: DeviceRecord,
        now: i64,
    ) -> Result<(), StorageError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM workspaces WHERE id = ?1)",
                [workspace.0],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(StorageError::NotFound("workspace"));
            }
            upsert_device(&tx, &workspace, &record, now)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn create_invite(
        &self,
        workspace: WorkspaceId,
        invite: InviteId,
        expires_at: i64,
        _now: i64,
    ) -> Result<(), StorageError> {
        self.write(move |conn| {
            let n = conn.execute(
                "INSERT OR IGNORE INTO invites (workspace, id, expires_at) VALUES (?1, ?2, ?3)",
                params![workspace.0, invite.0, expires_at],
            )?;
            if n == 0 {
                return Err(StorageError::Exists);
            }
            Ok(())
        })
        .await
    }

    async fn create_visit(
        &self,
        workspace: WorkspaceId,
        visit: VisitId,
        host: DeviceId,
        expires_at: i64,
        _now: i64,
    ) -> Result<(), StorageError> {
        self.write(move |conn| {
            let n = conn.execute(
                "INSERT OR IGNORE INTO visits (workspace, id, host, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![workspace.0, visit.0, host.0, expires_at],
            )?;
            if n == 0 {
                return Err(StorageError::Exists);
            }
            Ok(())
        })
        .await
    }

    async fn claim_visit(
        &self,
        workspace: WorkspaceId,
        visit: VisitId,
        guest: [u8; 64],
        now: i64,
    ) -> Result<DeviceId, StorageError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row: Option<(Vec<u8>, i64, Option<Vec<u8>>)> = tx
                .query_row(
                    "SELECT host, expires_at, guest FROM visits WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, visit.0],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((host, expires, claimed)) = row else {
                return Err(StorageError::NotFound("visit"));
            };
            if expires <= now {
                return Err(StorageError::VisitExpired);
            }
            match claimed {
                Some(g) if g.as_slice() != guest.as_slice() => return Err(StorageError::VisitUsed),
                Some(_) => {}
                None => {
                    tx.execute(
                        "UPDATE visits SET guest = ?3 WHERE workspace = ?1 AND id = ?2",
                        params![workspace.0, visit.0, guest.as_slice()],
                    )?;
                }
            }
            tx.commit()?;
            let host: [u8; 16] = host
                .try_into()
                .map_err(|_| StorageError::Backend("a stored device id is malformed".into()))?;
            Ok(DeviceId(host))
        })
        .await
    }

    async fn consume_invite(
        &self,
        workspace: WorkspaceId,
        invite: InviteId,
        joiner: DeviceRecord,
        request: Vec<u8>,
        now: i64,
    ) -> Result<(), StorageError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row: Option<(i64, Option<i64>)> = tx
                .query_row(
                    "SELECT expires_at, used_at FROM invites WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, invite.0],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match row {
                None => return Err(StorageError::NotFound("invite")),
                Some((_, Some(_))) => return Err(StorageError::InviteUsed),
                Some((expires, None)) if expires <= now => return Err(StorageError::InviteExpired),
                Some(_) => {}
            }
            if let Some(existing) = tx
                .query_row(
                    "SELECT id, identity, admin, status FROM devices WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, joiner.id.0],
                    device_row,
                )
                .optional()?
            {
                // A device already in (or removed from) the workspace cannot join again.
                let existing = to_record(existing)?;
                return Err(if existing.status == DeviceStatus::Removed {
                    StorageError::NotFound("device")
                } else {
                    StorageError::Exists
                });
            }
            tx.execute(
                "UPDATE invites SET used_at = ?3 WHERE workspace = ?1 AND id = ?2",
                params![workspace.0, invite.0, now],
            )?;
            upsert_device(&tx, &workspace, &joiner, now)?;
            let admins: Vec<Vec<u8>> = tx
                .prepare(
                    "SELECT id FROM devices WHERE workspace = ?1 AND admin = 1 AND status = 'member'",
                )?
                .query_map([workspace.0], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for admin in admins {
                tx.execute(
                    "INSERT INTO direct (workspace, recipient, sender, kind, body, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![workspace.0, admin, joiner.id.0, DIRECT_JOIN, request, now],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn append(
        &self,
        workspace: WorkspaceId,
        author: DeviceId,
        envelopes: Vec<NewEnvelope>,
        quota: u64,
        now: i64,
    ) -> Result<u64, StorageError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = AppendJob {
            workspace,
            author,
            envelopes,
            quota,
            now,
            reply,
        };
        self.inner
            .appends
            .lock()
            .map_err(|_| StorageError::Backend("append queue lock poisoned".into()))?
            .send(job)
            .map_err(|_| StorageError::Backend("the writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StorageError::Backend("the writer stopped".into()))?
    }

    async fn pull(
        &self,
        workspace: WorkspaceId,
        have: Vec<Watermark>,
        max_bytes: usize,
        max_count: usize,
    ) -> Result<Pulled, StorageError> {
        self.read(move |conn| {
            let heads: Vec<Watermark> = conn
                .prepare_cached(
                    "SELECT author, seq FROM heads WHERE workspace = ?1 ORDER BY author",
                )?
                .query_map([workspace.0], |r| {
                    Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
                })?
                .map(|row| {
                    let (author, seq) = row?;
                    Ok(Watermark {
                        device: device_id(&author)?,
                        seq: u64_of(seq),
                    })
                })
                .collect::<Result<_, StorageError>>()?;
            let mut out = Pulled {
                heads: heads.clone(),
                ..Pulled::default()
            };
            let mut bytes = 0usize;
            let mut stmt = conn.prepare_cached(
                "SELECT bytes FROM envelopes WHERE workspace = ?1 AND author = ?2 AND seq > ?3
                 ORDER BY seq LIMIT ?4",
            )?;
            for head in &heads {
                let from = have
                    .iter()
                    .find(|w| w.device == head.device)
                    .map_or(0, |w| w.seq);
                if from >= head.seq {
                    continue;
                }
                if out.envelopes.len() >= max_count || bytes >= max_bytes {
                    out.more = true;
                    break;
                }
                let room = max_count - out.envelopes.len();
                let mut rows = stmt.query(params![
                    workspace.0,
                    head.device.0,
                    seq_i64(from)?,
                    i64::try_from(room).unwrap_or(i64::MAX)
                ])?;
                let mut last = from;
                while let Some(r) = rows.next()? {
                    let envelope: Vec<u8> = r.get(0)?;
                    bytes += envelope.len();
                    out.envelopes.push(envelope);
                    last += 1;
                    if bytes >= max_bytes {
                        break;
                    }
                }
                if last < head.seq {
                    out.more = true;
                }
            }
            Ok(out)
        })
        .await
    }

    async fn head(&self, workspace: WorkspaceId, author: DeviceId) -> Result<u64, StorageError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT seq FROM heads WHERE workspace = ?1 AND author = ?2")?
                .query_row(params![workspace.0, author.0], |r| r.get::<_, i64>(0))
                .optional()?
                .map_or(0, u64_of))
        })
        .await
    }

    async fn send_direct(
        &self,
        workspace: WorkspaceId,
        from: DeviceId,
        to: DeviceId,
        kind: u8,
        body: Vec<u8>,
        quota: u64,
        now: i64,
    ) -> Result<u64, StorageError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let known: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM devices WHERE workspace = ?1 AND id = ?2 AND status != 'removed')",
                params![workspace.0, to.0],
                |r| r.get(0),
            )?;
            if !known {
                return Err(StorageError::NotFound("device"));
            }
            add_usage(&tx, &workspace, &from, body.len(), quota)?;
            tx.execute(
                "INSERT INTO direct (workspace, recipient, sender, kind, body, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![workspace.0, to.0, from.0, kind, body, now],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(u64_of(id))
        })
        .await
    }

    async fn fetch_direct(
        &self,
        workspace: WorkspaceId,
        to: DeviceId,
        limit: usize,
    ) -> Result<Vec<DirectMessage>, StorageError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT d.id, d.sender, d.kind, d.body, v.identity FROM direct d
                 LEFT JOIN devices v ON v.workspace = d.workspace AND v.id = d.sender
                 WHERE d.workspace = ?1 AND d.recipient = ?2
                 ORDER BY d.id LIMIT ?3",
            )?
            .query_map(
                params![workspace.0, to.0, i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, u8>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                        r.get::<_, Option<Vec<u8>>>(4)?,
                    ))
                },
            )?
            .map(|row| {
                let (id, from, kind, body, sender) = row?;
                Ok(DirectMessage {
                    id: u64_of(id),
                    from: device_id(&from)?,
                    sender: sender.and_then(|s| s.try_into().ok()).unwrap_or([0; 64]),
                    kind,
                    body: Bytes(body),
                })
            })
            .collect()
        })
        .await
    }

    async fn ack_direct(
        &self,
        workspace: WorkspaceId,
        to: DeviceId,
        ids: Vec<u64>,
    ) -> Result<(), StorageError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for id in ids {
                tx.execute(
                    "DELETE FROM direct WHERE workspace = ?1 AND recipient = ?2 AND id = ?3",
                    params![workspace.0, to.0, seq_i64(id)?],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn blob_put(
        &self,
        workspace: WorkspaceId,
        owner: DeviceId,
        blob: [u8; 32],
        offset: u64,
        data: Vec<u8>,
        quota: u64,
        now: i64,
    ) -> Result<BlobStatus, StorageError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let held: Option<(i64, bool)> = tx
                .query_row(
                    "SELECT received, complete FROM blobs WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, blob.as_slice()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let received = match held {
                Some((received, true)) => {
                    return Ok(BlobStatus {
                        received: u64_of(received),
                        complete: true,
                    });
                }
                Some((received, false)) => u64_of(received),
                None => {
                    tx.execute(
                        "INSERT INTO blobs (workspace, id, owner, received, complete, created_at)
                         VALUES (?1, ?2, ?3, 0, 0, ?4)",
                        params![workspace.0, blob.as_slice(), owner.0, now],
                    )?;
                    0
                }
            };
            if offset != received {
                return Err(StorageError::BlobOffset { received });
            }
            if data.is_empty() {
                return Ok(BlobStatus {
                    received,
                    complete: false,
                });
            }
            add_usage(&tx, &workspace, &owner, data.len(), quota)?;
            let total = received + u64::try_from(data.len()).unwrap_or(u64::MAX);
            tx.execute(
                "INSERT INTO blob_chunks (workspace, blob, start, data) VALUES (?1, ?2, ?3, ?4)",
                params![workspace.0, blob.as_slice(), seq_i64(received)?, data],
            )?;
            tx.execute(
                "UPDATE blobs SET received = ?3 WHERE workspace = ?1 AND id = ?2",
                params![workspace.0, blob.as_slice(), seq_i64(total)?],
            )?;
            tx.commit()?;
            Ok(BlobStatus {
                received: total,
                complete: false,
            })
        })
        .await
    }

    async fn blob_status(
        &self,
        workspace: WorkspaceId,
        blob: [u8; 32],
    ) -> Result<Option<BlobStatus>, StorageError> {
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT received, complete FROM blobs WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, blob.as_slice()],
                    |r| {
                        Ok(BlobStatus {
                            received: u64_of(r.get(0)?),
                            complete: r.get(1)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    async fn blob_complete(
        &self,
        workspace: WorkspaceId,
        blob: [u8; 32],
    ) -> Result<BlobStatus, StorageError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let held: (i64, bool) = tx
                .query_row(
                    "SELECT received, complete FROM blobs WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, blob.as_slice()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or(StorageError::NotFound("blob"))?;
            let status = BlobStatus {
                received: u64_of(held.0),
                complete: true,
            };
            if held.1 {
                return Ok(status);
            }
            let mut hasher = Sha256::new();
            {
                let mut stmt = tx.prepare(
                    "SELECT data FROM blob_chunks WHERE workspace = ?1 AND blob = ?2 ORDER BY start",
                )?;
                let mut rows = stmt.query(params![workspace.0, blob.as_slice()])?;
                while let Some(r) = rows.next()? {
                    hasher.update(r.get_ref(0)?.as_blob()?);
                }
            }
            if hasher.finalize().as_slice() != blob {
                // Nothing of a blob that lies about its name is kept.
                tx.execute(
                    "DELETE FROM blob_chunks WHERE workspace = ?1 AND blob = ?2",
                    params![workspace.0, blob.as_slice()],
                )?;
                tx.execute(
                    "DELETE FROM blobs WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, blob.as_slice()],
                )?;
                tx.commit()?;
                return Err(StorageError::BlobMismatch);
            }
            tx.execute(
                "UPDATE blobs SET complete = 1 WHERE workspace = ?1 AND id = ?2",
                params![workspace.0, blob.as_slice()],
            )?;
            tx.commit()?;
            Ok(status)
        })
        .await
    }

    async fn blob_read(
        &self,
        workspace: WorkspaceId,
        blob: [u8; 32],
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>, StorageError> {
        self.read(move |conn| {
            let complete: bool = conn
                .query_row(
                    "SELECT complete FROM blobs WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, blob.as_slice()],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or(StorageError::NotFound("blob"))?;
            if !complete {
                return Err(StorageError::NotFound("blob"));
            }
            let mut out = Vec::new();
            let mut stmt = conn.prepare_cached(
                "SELECT start, data FROM blob_chunks WHERE workspace = ?1 AND blob = ?2
                 AND start + length(data) > ?3 ORDER BY start",
            )?;
            let mut rows = stmt.query(params![workspace.0, blob.as_slice(), seq_i64(offset)?])?;
            while let Some(r) = rows.next()? {
                let start = u64_of(r.get(0)?);
                let data = r.get_ref(1)?.as_blob()?;
                let skip = usize::try_from(offset.saturating_sub(start)).unwrap_or(usize::MAX);
                let take = (len - out.len()).min(data.len().saturating_sub(skip));
                out.extend_from_slice(&data[skip.min(data.len())..skip.min(data.len()) + take]);
                if out.len() >= len {
                    break;
                }
            }
            Ok(out)
        })
        .await
    }

    async fn usage(&self, workspace: WorkspaceId, device: DeviceId) -> Result<u64, StorageError> {
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT bytes FROM usage WHERE workspace = ?1 AND device = ?2",
                    params![workspace.0, device.0],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?
                .map_or(0, u64_of))
        })
        .await
    }
}
