//! Projections of a workspace's membership operations: the workspace itself, invites, devices
//! admitted and removed, role changes, key epochs, receipts, and linked charts.
//!
//! Like every projection these take their values from the operation only. Their checks (an
//! invite used once, before it expired, for the role it names; a device admitted once) are
//! judged the same way on every device, so every device refuses the same operations.

use outpost_crypto::PublicIdentity;
use outpost_proto::{
    OpHash, Operation, PatientId, RecordId, Role, UserId, WorkspaceId,
    payload::{
        AttachmentUploaded, DeviceAdmitted, DeviceRemoved, EpochStarted, InviteCreated,
        PatientsLinked, Receipt, UserRoleChanged, WorkspaceCreated,
    },
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::StoreError;

fn invalid(field: &'static str, reason: &'static str) -> StoreError {
    StoreError::Invalid { field, reason }
}

fn hlc_of(op: &Operation) -> (i64, i64) {
    let h = op.header();
    (
        i64::try_from(h.hlc.wall_ms).unwrap_or(i64::MAX),
        i64::from(h.hlc.counter),
    )
}

/// The log's founding operation: its first in clock order.
pub(crate) fn first_op(conn: &Connection) -> Result<Option<OpHash>, StoreError> {
    conn.query_row(
        "SELECT hash FROM ops ORDER BY hlc_wall, hlc_counter, device, seq LIMIT 1",
        [],
        |r| r.get::<_, Vec<u8>>(0),
    )
    .optional()?
    .map(|h| crate::oplog::op_hash(&h))
    .transpose()
}

pub(crate) fn workspace_created(
    conn: &Connection,
    op: &Operation,
    p: &WorkspaceCreated,
) -> Result<(), StoreError> {
    let exists: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM workspace)", [], |r| r.get(0))?;
    if exists {
        return Err(invalid("workspace", "this log already founded a workspace"));
    }
    let root = first_op(conn)?.ok_or(StoreError::NotFound("log"))?;
    if WorkspaceId::of_root(&root) != p.workspace {
        return Err(invalid(
            "workspace",
            "the workspace id is not the one this log's founding registration gives",
        ));
    }
    conn.execute(
        "INSERT INTO workspace (id, workspace, name, relay, created_by, created_at, op)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            p.workspace.to_hex(),
            p.name,
            p.relay,
            op.header().actor.to_hex(),
            hlc_of(op).0,
            op.hash().0.as_slice()
        ],
    )?;
    Ok(())
}

pub(crate) fn invite_created(
    conn: &Connection,
    op: &Operation,
    p: &InviteCreated,
) -> Result<(), StoreError> {
    if matches!(p.role, Role::Patient | Role::Emergency) {
        return Err(invalid(
            "role",
            "invites are for physicians, nurses and admins",
        ));
    }
    conn.execute(
        "INSERT INTO invites (id, role, expires_at, secret_hash, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            p.invite.to_hex(),
            p.role.as_str(),
            p.expires_at,
            p.secret_hash.as_slice(),
            op.header().actor.to_hex(),
            hlc_of(op).0
        ],
    )
    .map_err(|_| invalid("invite", "an invite with this id exists already"))?;
    Ok(())
}

pub(crate) fn device_admitted(
    conn: &Connection,
    op: &Operation,
    p: &DeviceAdmitted,
) -> Result<(), StoreError> {
    let (wall, _) = hlc_of(op);
    let invite: Option<(String, i64, Option<String>)> = conn
        .query_row(
            "SELECT role, expires_at, used_by FROM invites WHERE id = ?1",
            [p.invite.to_hex()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (role, expires_at, used_by) = invite.ok_or(StoreError::NotFound("invite"))?;
    if used_by.is_some() {
        return Err(invalid("invite", "this invite was already used"));
    }
    if wall > expires_at {
        return Err(invalid("invite", "the invite had expired"));
    }
    if role != p.role.as_str() {
        return Err(invalid("role", "the role differs from the invite's"));
    }
    let device = PublicIdentity::from_bytes(&p.device_identity)?;
    let user_key = PublicIdentity::from_bytes(&p.user_identity)?;
    let existing: Option<Option<Vec<u8>>> = conn
        .query_row(
            "SELECT signing_key FROM users WHERE id = ?1",
            [p.user.to_hex()],
            |r| r.get(0),
        )
        .optional()?;
    match existing {
        Some(Some(key)) if key.as_slice() != user_key.signing_key() => {
            return Err(invalid("user", "a different key for a registered person"));
        }
        Some(_) => {}
        None => {
            conn.execute(
                "INSERT INTO users (id, name, role, signing_key, agreement_key, added_by, added_at, legacy)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
                params![
                    p.user.to_hex(),
                    p.user_name,
                    p.role.as_str(),
                    user_key.signing_key().as_slice(),
                    user_key.agreement_key().as_slice(),
                    op.header().actor.to_hex(),
                    wall
                ],
            )?;
        }
    }
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO devices (id, identity, name, registered_by, registered_at, user)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            device.device_id().to_hex(),
            p.device_identity.as_slice(),
            p.device_name,
            op.header().actor.to_hex(),
            wall,
            p.user.to_hex()
        ],
    )?;
    if inserted == 0 {
        return Err(invalid("device", "this device is registered already"));
    }
    conn.execute(
        "UPDATE invites SET used_by = ?2 WHERE id = ?1",
        params![p.invite.to_hex(), device.device_id().to_hex()],
    )?;
    Ok(())
}

/// Notes that `op` judges later operations of `subject` (see `membership_events`).
fn judges(conn: &Connection, subject: &str, op: &Operation) -> Result<(), StoreError> {
    let (wall, counter) = hlc_of(op);
    conn.execute(
        "INSERT OR IGNORE INTO membership_events (subject, hlc_wall, hlc_counter, op)
         VALUES (?1, ?2, ?3, ?4)",
        params![subject, wall, counter, op.hash().0.as_slice()],
    )?;
    Ok(())
}

pub(crate) fn device_removed(
    conn: &Connection,
    op: &Operation,
    p: &DeviceRemoved,
) -> Result<(), StoreError> {
    let device = p.device.to_hex();
    let known: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM devices WHERE id = ?1)",
        [&device],
        |r| r.get(0),
    )?;
    if !known {
        return Err(StoreError::NotFound("device"));
    }
    // Two removals keep the earlier cut-off.
    conn.execute(
        "UPDATE devices SET removed_after = min(coalesce(removed_after, ?2), ?2),
                            removed_at = coalesce(removed_at, ?3)
         WHERE id = ?1",
        params![
            device,
            i64::try_from(p.after_seq).unwrap_or(i64::MAX),
            hlc_of(op).0
        ],
    )?;
    judges(conn, &device, op)
}

pub(crate) fn user_role_changed(
    conn: &Connection,
    op: &Operation,
    p: &UserRoleChanged,
) -> Result<(), StoreError> {
    if matches!(p.role, Role::Patient | Role::Emergency) {
        return Err(invalid("role", "a member is a physician, nurse or admin"));
    }
    let changed = conn.execute(
        "UPDATE users SET role = ?2 WHERE id = ?1 AND removed_at IS NULL AND role != 'emergency'",
        params![p.user.to_hex(), p.role.as_str()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound("user"));
    }
    judges(conn, &p.user.to_hex(), op)
}

pub(crate) fn user_removed(
    conn: &Connection,
    op: &Operation,
    user: UserId,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE users SET removed_at = ?2 WHERE id = ?1 AND removed_at IS NULL",
        params![user.to_hex(), hlc_of(op).0],
    )?;
    judges(conn, &user.to_hex(), op)
}

pub(crate) fn epoch_started(
    conn: &Connection,
    op: &Operation,
    p: &EpochStarted,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO epochs (op, epoch, members, started_by, device, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            op.hash().0.as_slice(),
            p.epoch,
            p.members.as_slice(),
            op.header().actor.to_hex(),
            op.header().device.to_hex(),
            hlc_of(op).0
        ],
    )?;
    Ok(())
}

pub(crate) fn receipt(conn: &Connection, op: &Operation, p: &Receipt) -> Result<(), StoreError> {
    let device = op.header().device.to_hex();
    let (wall, _) = hlc_of(op);
    for w in &p.seen {
        conn.execute(
            "INSERT INTO receipts (device, author, seq, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (device, author) DO UPDATE SET
                seq = max(receipts.seq, excluded.seq),
                at = CASE WHEN excluded.seq > receipts.seq THEN excluded.at ELSE receipts.at END",
            params![
                device,
                w.device.to_hex(),
                i64::try_from(w.seq).unwrap_or(i64::MAX),
                wall
            ],
        )?;
    }
    Ok(())
}

pub(crate) fn patients_linked(
    conn: &Connection,
    op: &Operation,
    patient: PatientId,
    p: &PatientsLinked,
) -> Result<(), StoreError> {
    if patient == p.other {
        return Err(invalid("patient", "a chart cannot be linked to itself"));
    }
    for id in [patient, p.other] {
        let found: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM patients WHERE id = ?1)",
            [id.to_hex()],
            |r| r.get(0),
        )?;
        if !found {
            return Err(StoreError::NotFound("patient"));
        }
    }
    let (wall, _) = hlc_of(op);
    for (a, b) in [(patient, p.other), (p.other, patient)] {
        conn.execute(
            "INSERT OR IGNORE INTO patient_links (patient_id, other_id, linked_by, linked_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![a.to_hex(), b.to_hex(), op.header().actor.to_hex(), wall],
        )?;
    }
    Ok(())
}

pub(crate) fn attachment_uploaded(
    conn: &Connection,
    op: &Operation,
    target: RecordId,
    p: &AttachmentUploaded,
) -> Result<(), StoreError> {
    let patient: Option<String> = conn
        .query_row(
            "SELECT patient_id FROM attachments WHERE id = ?1",
            [target.to_hex()],
            |r| r.get(0),
        )
        .optional()?;
    match patient {
        None => return Err(StoreError::NotFound("attachment")),
        Some(p_id) if p_id != p.patient.to_hex() => {
            return Err(invalid("attachment", "belongs to another patient"));
        }
        Some(_) => {}
    }
    // The first upload wins; another device uploading the same attachment changes nothing.
    conn.execute(
        "INSERT OR IGNORE INTO attachment_uploads (attachment_id, blob, blob_size, content_key, uploaded_by)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            target.to_hex(),
            p.blob.as_slice(),
            i64::try_from(p.blob_size).unwrap_or(i64::MAX),
            p.content_key.as_slice(),
            op.header().actor.to_hex()
        ],
    )?;
    Ok(())
}

/// Refuses an operation written on a device after its removal's cut-off.
pub(crate) fn device_not_removed(conn: &Connection, op: &Operation) -> Result<(), StoreError> {
    let h = op.header();
    // The cut-off as applied so far, or as a replay already knows it from the whole log.
    let after: Option<Option<i64>> = conn
        .prepare_cached(
            "SELECT coalesce(
                (SELECT removed_after FROM main.devices WHERE id = ?1),
                (SELECT after_seq FROM replay_cutoffs WHERE device = ?1))",
        )?
        .query_row([h.device.to_hex()], |r| r.get(0))
        .optional()?;
    match after.flatten() {
        Some(after) if i64::try_from(h.seq).unwrap_or(i64::MAX) > after => Err(invalid(
            "device",
            "written on a device after it was removed from the workspace",
        )),
        _ => Ok(()),
    }
}

/// Whether applying `op` now, rather than in clock order, could judge differently than
/// another device does: a membership change arriving after operations of its subject that
/// are later on the clock, or an operation arriving after a membership change about its author
/// or device that is later on the clock. Then the log is replayed in clock order.
pub(crate) fn needs_replay(
    conn: &Connection,
    op: &Operation,
    subject: Option<String>,
) -> Result<bool, StoreError> {
    let h = op.header();
    let (wall, counter) = hlc_of(op);
    if let Some(subject) = subject {
        let later: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM ops WHERE (actor = ?1 OR device = ?1)
                AND (hlc_wall > ?2 OR (hlc_wall = ?2 AND hlc_counter > ?3)))",
            params![subject, wall, counter],
            |r| r.get(0),
        )?;
        if later {
            return Ok(true);
        }
    }
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM membership_events WHERE subject IN (?1, ?2)
                AND (hlc_wall > ?3 OR (hlc_wall = ?3 AND hlc_counter > ?4)))",
        )?
        .query_row(
            params![h.actor.to_hex(), h.device.to_hex(), wall, counter],
            |r| r.get(0),
        )?)
}

/// Whether this device holds operations of `device` after `seq`.
pub(crate) fn has_ops_after(
    conn: &Connection,
    device: outpost_proto::DeviceId,
    seq: u64,
) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM ops WHERE device = ?1 AND seq > ?2)",
        params![device.to_hex(), i64::try_from(seq).unwrap_or(i64::MAX)],
        |r| r.get(0),
    )?)
}
