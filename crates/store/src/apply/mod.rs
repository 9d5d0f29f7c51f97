//! The one path from an operation to the projection tables. Local writes and (later) synced
//! operations both come through [`apply`]; rebuilding the projections replays the log through
//! it. Every value it writes comes from the operation, never from the clock or this device, so
//! replaying the same log gives the same rows.
//!
//! It re-checks the author's role (`authz`) against the users table as the log has built it,
//! and checks references (a note's encounter must be the same patient's).

use outpost_crypto::PublicIdentity;
use outpost_proto::{
    DeviceId, EncounterId, NoteId, OpHash, OpKind, Operation, PatientField, PatientId, Payload,
    RecordId, Role, UserId,
    payload::{
        AddendumAdded, AttachmentAdded, EncounterOpened, NoteCreated, NoteRevised, NoteSigned,
        PatientFieldSet, PatientRegistered, UserAdded, VitalRecorded,
    },
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::{
    StoreError,
    authz::{self, ActorState, Denied},
    records::vitals::VitalKind,
};

mod clinical;

/// Who a projected row is attributed to and when; for legacy imports, what the old database
/// said rather than who imported it.
#[derive(Debug, Clone, Copy)]
struct Attribution {
    by: UserId,
    at: i64,
    legacy: bool,
}

/// Where an operation sits in the total order (clock, device, sequence), for choosing
/// deterministically among concurrent writes.
#[derive(Debug, Clone)]
struct Position<'a> {
    hash: &'a OpHash,
    hlc_wall: i64,
    hlc_counter: i64,
    device: String,
    seq: i64,
}

/// What the users table says about `user`.
pub(crate) fn actor_state(
    conn: &Connection,
    user: UserId,
) -> Result<Option<ActorState>, StoreError> {
    conn.prepare_cached(
        "SELECT role, signing_key, removed_at IS NOT NULL FROM users WHERE id = ?1",
    )?
    .query_row([user.to_hex()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<Vec<u8>>>(1)?,
            r.get::<_, bool>(2)?,
        ))
    })
    .optional()?
    .map(|(role, key, removed)| {
        Ok(ActorState {
            role: parse_role(&role)?,
            signing_key: key
                .map(TryInto::try_into)
                .transpose()
                .map_err(|_| StoreError::Corrupt("a user's signing key has the wrong length"))?,
            removed,
        })
    })
    .transpose()
}

pub(crate) fn parse_role(s: &str) -> Result<Role, StoreError> {
    Role::from_name(s).ok_or_else(|| StoreError::UnknownCode {
        field: "role",
        code: s.to_owned(),
    })
}

/// Whether `device` is still in its one-time import of schema 2 records: its first operation
/// registered the importer, and everything since is a device registration or an imported
/// record (the seal, or any other write, ends it for good).
pub(crate) fn importing(conn: &Connection, device: DeviceId) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT (SELECT kind FROM ops WHERE device = ?1 AND seq = 1) = ?2
            AND NOT EXISTS (SELECT 1 FROM ops WHERE device = ?1 AND kind NOT IN (?2, ?3, ?4))",
            params![
                device.to_hex(),
                i64::from(OpKind::USER_ADDED.0),
                i64::from(OpKind::DEVICE_REGISTERED.0),
                i64::from(OpKind::LEGACY.0)
            ],
            |r| r.get::<_, Option<bool>>(0),
        )?
        .unwrap_or(false))
}

/// Whether `op`'s device was still importing just before `op` (for judging a stored operation).
pub(crate) fn importing_before(conn: &Connection, op: &Operation) -> Result<bool, StoreError> {
    let h = op.header();
    if h.seq == 1 {
        return Ok(false);
    }
    Ok(conn.query_row(
        "SELECT (SELECT kind FROM ops WHERE device = ?1 AND seq = 1) = ?2
            AND NOT EXISTS (SELECT 1 FROM ops WHERE device = ?1 AND seq < ?5 AND kind NOT IN (?2, ?3, ?4))",
        params![
            h.device.to_hex(),
            i64::from(OpKind::USER_ADDED.0),
            i64::from(OpKind::DEVICE_REGISTERED.0),
            i64::from(OpKind::LEGACY.0),
            i64::try_from(h.seq).unwrap_or(i64::MAX)
        ],
        |r| r.get::<_, Option<bool>>(0),
    )?
    .unwrap_or(false))
}

/// Checks the role rules for `actor` making `payload` on `device`, against the users table.
/// `stored`: the operation itself when it is already in the log (applying or replaying it),
/// so the import window is judged as it was just before it.
pub(crate) fn authorize(
    conn: &Connection,
    payload: &Payload,
    actor: UserId,
    device: DeviceId,
    stored: Option<&Operation>,
) -> Result<(), StoreError> {
    let state = actor_state(conn, actor)?;
    if let Some(op) = stored {
        crate::membership::device_not_removed(conn, op)?;
    }
    // Only registrations and imports need more than the actor's own row.
    let ctx = match payload {
        Payload::UserAdded(_) => authz::Context {
            any_users: conn.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?,
            emergency_active: conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'emergency' AND removed_at IS NULL)",
                [],
                |r| r.get(0),
            )?,
            importing: false,
            root_ok: match stored {
                Some(op) => crate::workspace::is_root(conn, &op.hash())?,
                // Made here, now: only a profile's own first registration comes this way.
                None => true,
            },
        },
        Payload::Legacy(_) => authz::Context {
            any_users: true,
            emergency_active: false,
            root_ok: true,
            importing: match stored {
                Some(op) => importing_before(conn, op)?,
                None => importing(conn, device)?,
            },
        },
        _ => authz::Context {
            any_users: true,
            root_ok: true,
            ..authz::Context::default()
        },
    };
    let lookup_failed = std::cell::Cell::new(false);
    let lookup = |user: UserId| {
        actor_state(conn, user).unwrap_or_else(|_| {
            lookup_failed.set(true);
            None
        })
    };
    let result = authz::authorize(payload, actor, state, &lookup, ctx);
    if lookup_failed.get() {
        return Err(StoreError::Corrupt("users table"));
    }
    result.map_err(denied)
}

pub(crate) fn denied(d: Denied) -> StoreError {
    match d {
        Denied::Role {
            action,
            needs,
            role,
        } => StoreError::NotPermitted {
            action,
            needs,
            role,
        },
        Denied::UnknownActor => StoreError::NotPermitted {
            action: "this change",
            needs: "a registered, current user",
            role: Role::Patient,
        },
        Denied::BadRegistration(reason) => StoreError::Invalid {
            field: "user",
            reason,
        },
        Denied::NotImporting => StoreError::Invalid {
            field: "record",
            reason: "records from before signatures are only taken in the one-time import",
        },
    }
}

/// What applying an operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The projections now reflect it.
    Done,
    /// Its author had no right to make it, or it breaks a rule every device applies the same
    /// way: it stays in the log, changes nothing, and is listed in `refused` with the reason.
    Refused(&'static str),
}

/// Why an operation is refused, for the `refused` table and the sync centre.
fn refusal(e: &StoreError) -> Option<&'static str> {
    Some(match e {
        StoreError::NotPermitted { .. } => "its author's role did not allow it",
        StoreError::Invalid { reason, .. } => reason,
        StoreError::UnknownCode { .. } => "it holds a code this version does not know",
        StoreError::Crypto(_) => "it holds a key that is not valid",
        _ => return None,
    })
}

/// Applies one operation (already stored in `ops`) to the projections, after checking that
/// its author may make it. An operation its author had no right to make, or that breaks a
/// rule, is recorded as refused and changes nothing; a missing referenced record is an error
/// (`NotFound`: the caller decides whether it may still arrive).
pub(crate) fn apply(
    conn: &Connection,
    op: &Operation,
    payload: &Payload,
) -> Result<Applied, StoreError> {
    conn.execute_batch("SAVEPOINT apply")?;
    let outcome = apply_inner(conn, op, payload);
    match outcome {
        Ok(()) => {
            conn.execute_batch("RELEASE apply")?;
            Ok(Applied::Done)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO apply; RELEASE apply")?;
            let Some(reason) = refusal(&e) else {
                return Err(e);
            };
            let h = op.header();
            conn.execute(
                "INSERT OR REPLACE INTO refused (hash, device, seq, reason) VALUES (?1, ?2, ?3, ?4)",
                params![
                    op.hash().0.as_slice(),
                    h.device.to_hex(),
                    i64::try_from(h.seq).unwrap_or(i64::MAX),
                    reason
                ],
            )?;
            Ok(Applied::Refused(reason))
        }
    }
}

/// Applies an operation this device just made (and authorized): every failure is an error.
pub(crate) fn apply_local(
    conn: &Connection,
    op: &Operation,
    payload: &Payload,
) -> Result<(), StoreError> {
    apply_inner(conn, op, payload)
}

fn apply_inner(conn: &Connection, op: &Operation, payload: &Payload) -> Result<(), StoreError> {
    let h = op.header();
    authorize(conn, payload, h.actor, h.device, Some(op))?;
    let hash = op.hash();
    let pos = Position {
        hash: &hash,
        hlc_wall: i64::try_from(h.hlc.wall_ms).unwrap_or(i64::MAX),
        hlc_counter: i64::from(h.hlc.counter),
        device: h.device.to_hex(),
        seq: i64::try_from(h.seq).unwrap_or(i64::MAX),
    };
    let by = Attribution {
        by: h.actor,
        at: pos.hlc_wall,
        legacy: false,
    };
    match payload {
        Payload::Legacy(legacy) => {
            let inner = legacy
                .inner()
                .map_err(|_| StoreError::Corrupt("a legacy record does not decode"))?;
            let by = Attribution {
                by: legacy.recorded_by,
                at: legacy.recorded_at,
                legacy: true,
            };
            project(conn, op, h.target, &inner, by, &pos)
        }
        other => project(conn, op, h.target, other, by, &pos),
    }
}

fn project(
    conn: &Connection,
    op: &Operation,
    target: RecordId,
    payload: &Payload,
    by: Attribution,
    pos: &Position<'_>,
) -> Result<(), StoreError> {
    use crate::membership as m;
    match payload {
        Payload::UserAdded(p) => user_added(conn, p, by),
        Payload::UserRemoved(p) => m::user_removed(conn, op, p.user),
        Payload::UserRoleChanged(p) => m::user_role_changed(conn, op, p),
        Payload::DeviceAdmitted(p) => m::device_admitted(conn, op, p),
        Payload::DeviceRemoved(p) => m::device_removed(conn, op, p),
        Payload::WorkspaceCreated(p) => m::workspace_created(conn, op, p),
        Payload::InviteCreated(p) => m::invite_created(conn, op, p),
        Payload::EpochStarted(p) => m::epoch_started(conn, op, p),
        Payload::Receipt(p) => m::receipt(conn, op, p),
        Payload::PatientsLinked(p) => m::patients_linked(conn, op, PatientId(target.0), p),
        Payload::AttachmentUploaded(p) => m::attachment_uploaded(conn, op, target, p),
        Payload::DeviceRegistered(p) => {
            let public = PublicIdentity::from_bytes(&p.identity)?;
            conn.execute(
                "INSERT OR IGNORE INTO devices (id, identity, name, registered_by, registered_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    public.device_id().to_hex(),
                    p.identity.as_slice(),
                    p.name,
                    by.by.to_hex(),
                    by.at
                ],
            )?;
            Ok(())
        }
        Payload::PatientRegistered(p) => patient_registered(conn, PatientId(target.0), p, by, pos),
        Payload::PatientFieldSet(p) => patient_field_set(conn, PatientId(target.0), p, pos),
        Payload::EncounterOpened(p) => encounter_opened(conn, EncounterId(target.0), p, by),
        Payload::EncounterFinished(p) => {
            let patient = encounter_patient(conn, EncounterId(target.0))?;
            if patient != p.patient {
                return Err(other_patient("encounter"));
            }
            // The first finish wins; a later one (from another device) changes nothing.
            conn.execute(
                "UPDATE encounters SET status = 'finished', ended_at = ?2
                 WHERE id = ?1 AND (ended_at IS NULL OR ended_at > ?2)",
                params![target.to_hex(), by.at],
            )?;
            Ok(())
        }
        Payload::EncounterReasonSet(p) => {
            if encounter_patient(conn, EncounterId(target.0))? != p.patient {
                return Err(other_patient("encounter"));
            }
            // The latest reason wins; on a tie of times, the higher operation hash.
            conn.execute(
                "UPDATE encounters SET reason = ?2, reason_at = ?3, reason_op = ?4
                 WHERE id = ?1 AND (reason_at IS NULL OR reason_at < ?3
                                    OR (reason_at = ?3 AND reason_op < ?4))",
                params![target.to_hex(), p.reason, by.at, pos.hash.0.as_slice()],
            )?;
            Ok(())
        }
        Payload::NoteCreated(p) => note_created(conn, NoteId(target.0), p, by, pos),
        Payload::NoteRevised(p) => note_revised(conn, NoteId(target.0), p, by, pos),
        Payload::NoteSigned(p) => note_signed(conn, NoteId(target.0), p, by, pos),
        Payload::AddendumAdded(p) => addendum_added(conn, target, p, by, pos),
        Payload::VitalRecorded(p) => vital_recorded(conn, target, p, by),
        Payload::VitalEnteredInError(p) => {
            let e = &clinical::VITAL_IN_ERROR;
            clinical::ended(conn, e, target, p.patient, &p.reason, by, pos.hash)
        }
        Payload::AllergyRecorded(p) => clinical::allergy_recorded(conn, target, p, by),
        Payload::AllergyRemoved(p) => {
            let e = &clinical::ALLERGY_REMOVED;
            clinical::ended(conn, e, target, p.patient, &p.reason, by, pos.hash)
        }
        Payload::NoKnownAllergies(p) => clinical::no_known_allergies(conn, target, p, by, pos.hash),
        Payload::MedicationPrescribed(p) => clinical::medication_prescribed(conn, target, p, by),
        Payload::MedicationStopped(p) => {
            let e = &clinical::MEDICATION_STOPPED;
            clinical::ended(conn, e, target, p.patient, &p.reason, by, pos.hash)
        }
        Payload::ProblemAdded(p) => clinical::problem_added(conn, target, p, by),
        Payload::ProblemResolved(p) => {
            let e = &clinical::PROBLEM_RESOLVED;
            clinical::ended(conn, e, target, p.patient, &p.reason, by, pos.hash)
        }
        Payload::AttachmentAdded(p) => attachment_added(conn, target, p, by),
        Payload::Audit(_) => Ok(()),
        Payload::AlertAcknowledged(p) => {
            crate::alerts::acknowledged(conn, p, by.by, by.at, &pos.hash.0)
        }
        Payload::AlertRulesSet(p) => crate::alerts::rules_set(
            conn,
            p,
            (pos.hlc_wall, pos.hlc_counter, &pos.device, pos.seq),
        ),
        Payload::Legacy(_) => Err(StoreError::Corrupt("nested legacy record")),
        _ => Err(StoreError::UnknownCode {
            field: "operation kind",
            code: payload.kind().0.to_string(),
        }),
    }
}

fn user_added(conn: &Connection, p: &UserAdded, by: Attribution) -> Result<(), StoreError> {
    let (signing, agreement) = match &p.identity {
        Some(id) => {
            let public = PublicIdentity::from_bytes(id)?;
            (
                Some(public.signing_key().to_vec()),
                Some(public.agreement_key().to_vec()),
            )
        }
        None => (None, None),
    };
    let updated = conn.execute(
        "UPDATE users SET signing_key = ?2, agreement_key = ?3
         WHERE id = ?1 AND signing_key IS NULL",
        params![p.user.to_hex(), signing, agreement],
    )?;
    if updated == 0 {
        conn.execute(
            "INSERT INTO users (id, name, role, signing_key, agreement_key, added_by, added_at, legacy)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                p.user.to_hex(),
                p.name,
                p.role.as_str(),
                signing,
                agreement,
                by.by.to_hex(),
                by.at,
                by.legacy || p.identity.is_none()
            ],
        )?;
    }
    Ok(())
}

fn require_patient(conn: &Connection, patient: PatientId) -> Result<(), StoreError> {
    let found: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM patients WHERE id = ?1)",
        [patient.to_hex()],
        |r| r.get(0),
    )?;
    if found {
        Ok(())
    } else {
        Err(StoreError::NotFound("patient"))
    }
}

fn encounter_patient(conn: &Connection, encounter: EncounterId) -> Result<PatientId, StoreError> {
    let patient: Option<String> = conn
        .query_row(
            "SELECT patient_id FROM encounters WHERE id = ?1",
            [encounter.to_hex()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(patient.ok_or(StoreError::NotFound("encounter"))?.parse()?)
}

fn other_patient(field: &'static str) -> StoreError {
    StoreError::Invalid {
        field,
        reason: "belongs to another patient",
    }
}

/// A record's encounter must be one of the same patient's.
fn check_encounter(
    conn: &Connection,
    patient: PatientId,
    encounter: Option<EncounterId>,
) -> Result<(), StoreError> {
    require_patient(conn, patient)?;
    if let Some(e) = encounter
        && encounter_patient(conn, e)? != patient
    {
        return Err(other_patient("encounter"));
    }
    Ok(())
}

fn patient_registered(
    conn: &Connection,
    id: PatientId,
    p: &PatientRegistered,
    by: Attribution,
    pos: &Position<'_>,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO patients (id, given_name, family_name, birth_date, sex, clinic_id, contact, created_at, created_by, legacy)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id.to_hex(),
            p.given_name,
            p.family_name,
            p.birth_date,
            p.sex,
            p.clinic_id,
            p.contact,
            by.at,
            by.by.to_hex(),
            by.legacy
        ],
    )?;
    for (field, value) in [
        (PatientField::GivenName, Some(&p.given_name)),
        (PatientField::FamilyName, Some(&p.family_name)),
        (PatientField::BirthDate, Some(&p.birth_date)),
        (PatientField::Sex, p.sex.as_ref()),
        (PatientField::ClinicId, p.clinic_id.as_ref()),
        (PatientField::Contact, p.contact.as_ref()),
    ] {
        insert_field_head(conn, id, field, value.map(String::as_str), pos)?;
    }
    Ok(())
}

fn insert_field_head(
    conn: &Connection,
    patient: PatientId,
    field: PatientField,
    value: Option<&str>,
    pos: &Position<'_>,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO patient_field_heads (patient_id, field, op, value, hlc_wall, hlc_counter, device, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            patient.to_hex(),
            field.as_str(),
            pos.hash.0.as_slice(),
            value,
            pos.hlc_wall,
            pos.hlc_counter,
            pos.device,
            pos.seq
        ],
    )?;
    Ok(())
}

/// A multi-value register per field: the write replaces the heads it names; a write that
/// another already replaced never becomes a head, whatever order they arrive in. With several
/// heads the field is in conflict; the value shown is the head latest in the total order.
fn patient_field_set(
    conn: &Connection,
    patient: PatientId,
    p: &PatientFieldSet,
    pos: &Position<'_>,
) -> Result<(), StoreError> {
    require_patient(conn, patient)?;
    // The same checks as where the value was typed: a synced operation with a value no
    // screen would accept (an estimate flag of "yes") is refused, not stored.
    if let Some(value) = &p.value {
        crate::records::patients::check_field(p.field, value)?;
    }
    if matches!(
        p.field,
        PatientField::GivenName | PatientField::FamilyName | PatientField::BirthDate
    ) && p.value.is_none()
    {
        return Err(StoreError::Invalid {
            field: "value",
            reason: "names and the birth date cannot be cleared",
        });
    }
    for replaced in &p.replaces {
        conn.execute(
            "INSERT OR IGNORE INTO patient_field_replaced (op) VALUES (?1)",
            [replaced.0.as_slice()],
        )?;
        conn.execute(
            "DELETE FROM patient_field_heads WHERE patient_id = ?1 AND field = ?2 AND op = ?3",
            params![patient.to_hex(), p.field.as_str(), replaced.0.as_slice()],
        )?;
    }
    let already_replaced: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM patient_field_replaced WHERE op = ?1)",
        [pos.hash.0.as_slice()],
        |r| r.get(0),
    )?;
    if !already_replaced {
        insert_field_head(conn, patient, p.field, p.value.as_deref(), pos)?;
    }
    let shown: Option<Option<String>> = conn
        .query_row(
            "SELECT value FROM patient_field_heads WHERE patient_id = ?1 AND field = ?2
             ORDER BY hlc_wall DESC, hlc_counter DESC, device DESC, seq DESC LIMIT 1",
            params![patient.to_hex(), p.field.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    let column = match p.field {
        PatientField::GivenName => "given_name",
        PatientField::FamilyName => "family_name",
        PatientField::BirthDate => "birth_date",
        PatientField::Sex => "sex",
        PatientField::ClinicId => "clinic_id",
        PatientField::Contact => "contact",
        PatientField::NationalId => "national_id",
        PatientField::Guardian => "guardian",
        PatientField::BirthDateEstimated => "birth_date_estimated",
    };
    if let Some(value) = shown {
        conn.execute(
            &format!("UPDATE patients SET {column} = ?2 WHERE id = ?1"),
            params![patient.to_hex(), value],
        )?;
    }
    Ok(())
}

fn encounter_opened(
    conn: &Connection,
    id: EncounterId,
    p: &EncounterOpened,
    by: Attribution,
) -> Result<(), StoreError> {
    require_patient(conn, p.patient)?;
    conn.execute(
        "INSERT INTO encounters (id, patient_id, kind, status, started_at, practitioner, legacy)
         VALUES (?1, ?2, ?3, 'in_progress', ?4, ?5, ?6)",
        params![
            id.to_hex(),
            p.patient.to_hex(),
            p.kind.as_str(),
            by.at,
            by.by.to_hex(),
            by.legacy
        ],
    )?;
    Ok(())
}

/// Records that the operation at `pos` saved a text of `note` (the text stays in the operation).
fn insert_revision(
    conn: &Connection,
    note: NoteId,
    by: Attribution,
    pos: &Position<'_>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO note_revisions (op, note_id, author, hlc_wall, hlc_counter, device, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        pos.hash.0.as_slice(),
        note.to_hex(),
        by.by.to_hex(),
        pos.hlc_wall,
        pos.hlc_counter,
        pos.device,
        pos.seq,
    ])?;
    Ok(())
}

fn note_created(
    conn: &Connection,
    id: NoteId,
    p: &NoteCreated,
    by: Attribution,
    pos: &Position<'_>,
) -> Result<(), StoreError> {
    check_encounter(conn, p.patient, p.encounter)?;
    conn.execute(
        "INSERT INTO notes (id, patient_id, encounter_id, author, created_at, legacy)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            id.to_hex(),
            p.patient.to_hex(),
            p.encounter.map(|e| e.to_hex()),
            by.by.to_hex(),
            by.at,
            by.legacy
        ],
    )?;
    insert_revision(conn, id, by, pos)
}

pub(crate) fn note_patient(conn: &Connection, note: NoteId) -> Result<PatientId, StoreError> {
    let patient: Option<String> = conn
        .query_row(
            "SELECT patient_id FROM notes WHERE id = ?1",
            [note.to_hex()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(patient.ok_or(StoreError::NotFound("note"))?.parse()?)
}

fn revision_belongs(conn: &Connection, note: NoteId, rev: &OpHash) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM note_revisions WHERE op = ?1 AND note_id = ?2)",
        params![rev.0.as_slice(), note.to_hex()],
        |r| r.get(0),
    )?)
}

fn note_revised(
    conn: &Connection,
    id: NoteId,
    p: &NoteRevised,
    by: Attribution,
    pos: &Position<'_>,
) -> Result<(), StoreError> {
    if note_patient(conn, id)? != p.patient {
        return Err(other_patient("note"));
    }
    if p.bases.is_empty() {
        return Err(StoreError::Invalid {
            field: "revision",
            reason: "a revision names the revision it replaces",
        });
    }
    for base in &p.bases {
        if !revision_belongs(conn, id, base)? {
            return Err(StoreError::NotFound("revision"));
        }
    }
    insert_revision(conn, id, by, pos)?;
    for base in &p.bases {
        conn.execute(
            "INSERT INTO note_revision_bases (revision, base) VALUES (?1, ?2)",
            params![pos.hash.0.as_slice(), base.0.as_slice()],
        )?;
    }
    Ok(())
}

fn note_signed(
    conn: &Connection,
    id: NoteId,
    p: &NoteSigned,
    by: Attribution,
    pos: &Position<'_>,
) -> Result<(), StoreError> {
    let (patient, encounter, author): (String, Option<String>, String) = conn
        .query_row(
            "SELECT patient_id, encounter_id, author FROM notes WHERE id = ?1",
            [id.to_hex()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or(StoreError::NotFound("note"))?;
    if patient != p.patient.to_hex()
        || encounter != p.encounter.map(|e| e.to_hex())
        || author != p.author.to_hex()
    {
        return Err(StoreError::SignatureInvalid(
            "the signature names another patient, encounter or author than the note",
        ));
    }
    let revision = crate::records::notes::revision(conn, &p.revision)?
        .filter(|(note, _)| *note == id)
        .ok_or(StoreError::NotFound("revision"))?
        .1;
    if revision.soap != p.soap {
        return Err(StoreError::SignatureInvalid(
            "the signature covers another text than the revision it names",
        ));
    }
    // Of two signatures (two physicians, two devices), the first in the total order stands.
    conn.execute(
        "UPDATE notes SET signed_op = ?2, signed_at = ?3, signed_by = ?4
         WHERE id = ?1 AND (signed_op IS NULL OR (SELECT (o.hlc_wall, o.hlc_counter, o.device, o.seq) > (?5, ?6, ?7, ?8) FROM ops o WHERE o.hash = notes.signed_op))",
        params![
            id.to_hex(),
            pos.hash.0.as_slice(),
            by.at,
            by.by.to_hex(),
            pos.hlc_wall,
            pos.hlc_counter,
            pos.device,
            pos.seq
        ],
    )?;
    Ok(())
}

fn addendum_added(
    conn: &Connection,
    target: RecordId,
    p: &AddendumAdded,
    by: Attribution,
    pos: &Position<'_>,
) -> Result<(), StoreError> {
    if note_patient(conn, p.note)? != p.patient {
        return Err(other_patient("note"));
    }
    let signed: bool = conn.query_row(
        "SELECT signed_op IS NOT NULL FROM notes WHERE id = ?1",
        [p.note.to_hex()],
        |r| r.get(0),
    )?;
    if !signed {
        return Err(StoreError::Invalid {
            field: "note",
            reason: "edit the draft instead; addenda are for signed notes",
        });
    }
    conn.execute(
        "INSERT INTO addenda (id, note_id, author, text, signed_at, op, legacy)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            target.to_hex(),
            p.note.to_hex(),
            by.by.to_hex(),
            p.text,
            by.at,
            pos.hash.0.as_slice(),
            by.legacy
        ],
    )?;
    Ok(())
}

fn vital_recorded(
    conn: &Connection,
    target: RecordId,
    p: &VitalRecorded,
    by: Attribution,
) -> Result<(), StoreError> {
    check_encounter(conn, p.patient, p.encounter)?;
    // An unknown code is refused, never stored as something else. Imported readings are kept
    // as the old database had them; new ones must be plausible.
    let kind = VitalKind::from_loinc(&p.code).ok_or_else(|| StoreError::UnknownCode {
        field: "vital",
        code: p.code.clone(),
    })?;
    if !by.legacy {
        kind.check(p.value, p.value2)?;
        // As the writer checked it, against the operation's own time (never this device's
        // clock, so a replay decides the same): within the year before, never ahead.
        if p.observed_at > by.at + 5 * 60_000 || p.observed_at < by.at - 366 * 86_400_000 {
            return Err(StoreError::Invalid {
                field: "observed at",
                reason: "not in the future, and within the last year",
            });
        }
    }
    conn.execute(
        "INSERT INTO vitals (id, patient_id, encounter_id, code, value, value2, unit, observed_at, recorded_by, legacy)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            target.to_hex(),
            p.patient.to_hex(),
            p.encounter.map(|e| e.to_hex()),
            p.code,
            p.value,
            p.value2,
            p.unit,
            p.observed_at,
            by.by.to_hex(),
            by.legacy
        ],
    )?;
    Ok(())
}

fn attachment_added(
    conn: &Connection,
    target: RecordId,
    p: &AttachmentAdded,
    by: Attribution,
) -> Result<(), StoreError> {
    check_encounter(conn, p.patient, p.encounter)?;
    conn.execute(
        "INSERT INTO attachments (id, patient_id, encounter_id, file_name, media_type, size, sha256, created_at, created_by, legacy)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            target.to_hex(),
            p.patient.to_hex(),
            p.encounter.map(|e| e.to_hex()),
            p.file_name,
            p.media_type,
            i64::try_from(p.size).map_err(|_| StoreError::Invalid {
                field: "size",
                reason: "too large"
            })?,
            p.sha256.as_slice(),
            by.at,
            by.by.to_hex(),
            by.legacy
        ],
    )?;
    Ok(())
}
