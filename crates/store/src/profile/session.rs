//! Opening a session: the checks that stand between a passphrase and a usable store, in one
//! `IMMEDIATE` transaction.
//!
//! In order: the device's log head is compared with the anchor outside the database (before
//! anything new is written, so a rolled-back log is seen as it is); a schema 2 profile is
//! imported; the users' keys are verified from their signed registrations and the users table
//! compared with them; the unlocking person's identity must be the one registered for them (or
//! they register it, if they were imported without one); a patient's user in a clinic profile
//! is refused; past failed unlocks, a detected rollback and the unlock itself are recorded.

use std::{cell::RefCell, collections::HashSet, sync::Arc};

use outpost_crypto::{DeviceIdentity, PublicIdentity};
use outpost_proto::{
    AuditAction, Payload, RecordId, Role, UserId,
    payload::{AuditEvent, DeviceRegistered, UserAdded},
};
use rand_core::OsRng;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use zeroize::Zeroizing;

use super::file::{FileKey, ProfileFile, Seal};
use super::{EMERGENCY_USER_NAME, FAILURES_FILE, Failures, Profile, ProfileKind};
use crate::{
    Clock, Store, StoreError, UnlockWarning, User, anchor, db, device, legacy,
    oplog::{self, Author},
    trust::TrustedKeys,
};

/// What the caller of [`open`] unwrapped.
pub(super) struct Opening<'a> {
    /// The database key.
    pub db_key: Zeroizing<[u8; 32]>,
    /// Who is unlocking; `None` for the emergency user, whose id follows from their identity.
    pub user: Option<UserId>,
    /// Their display name (for a registration).
    pub name: String,
    /// Their signing identity, if the profile file holds one.
    pub identity: Option<DeviceIdentity>,
    /// Saves a newly made identity into the profile file (before the database registers it).
    pub save_identity: &'a dyn Fn(&DeviceIdentity) -> Result<(), StoreError>,
    /// What to record: an unlock, or emergency access.
    pub action: AuditAction,
    /// The reason given for emergency access.
    pub reason: Option<String>,
    /// Their role as the profile file says (shown while a joining device waits to be
    /// admitted, when the log does not know them yet).
    pub role: Role,
}

/// The user id that names an identity (the emergency user's is derived, not chosen).
pub(crate) fn user_id_of(identity: &PublicIdentity) -> UserId {
    UserId(identity.device_id().0)
}

fn meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn device_registration(device: &DeviceIdentity) -> Payload {
    Payload::DeviceRegistered(DeviceRegistered {
        identity: device.public().to_bytes(),
        name: "Outpost device".to_owned(),
    })
}

fn registration(user: UserId, name: &str, role: Role, identity: &DeviceIdentity) -> Payload {
    Payload::UserAdded(UserAdded {
        user,
        name: name.to_owned(),
        role,
        identity: Some(identity.public().to_bytes()),
    })
}

fn audit(
    action: AuditAction,
    subject: Option<UserId>,
    at: Option<i64>,
    detail: Option<String>,
) -> Payload {
    Payload::Audit(AuditEvent {
        action,
        patient: None,
        subject,
        at,
        detail,
    })
}

/// Sets up a new profile's database: its identity facts, the device, the first user, the
/// emergency user (the recovery key's identity), and the first audit entries.
pub(super) fn create(
    profile: &Profile,
    conn: Connection,
    db_key: Zeroizing<[u8; 32]>,
    user: User,
    identity: DeviceIdentity,
    emergency: &DeviceIdentity,
    clock: Arc<dyn Clock>,
) -> Result<Store, StoreError> {
    let now = clock.now_ms();
    let profile_id = profile.file.id_bytes()?;
    let in_use = db::InUse::shared(&profile.dir)?;
    let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
    legacy::discard_empty(&tx)?;
    set_meta(&tx, "profile_id", &profile.file.profile_id)?;
    set_meta(&tx, "profile_kind", profile.file.kind.as_str())?;
    set_meta(&tx, "anchored", "1")?;
    let device = device::create(&tx, &db_key, now)?;
    let author = Author {
        signer: &identity,
        actor: user.id,
        device: device.device_id(),
        now_ms: now,
    };
    oplog::append(
        &tx,
        &author,
        RecordId::from(user.id),
        &registration(user.id, &user.name, user.role, &identity),
    )?;
    oplog::append(
        &tx,
        &author,
        RecordId([0; 16]),
        &device_registration(&device),
    )?;
    register_emergency(&tx, emergency, device.device_id(), now)?;
    oplog::append(
        &tx,
        &author,
        RecordId([0; 16]),
        &audit(AuditAction::ProfileCreated, None, None, None),
    )?;
    oplog::append(
        &tx,
        &author,
        RecordId([0; 16]),
        &audit(AuditAction::Unlock, None, None, None),
    )?;
    let trusted = TrustedKeys::load(&tx)?;
    tx.commit()?;
    Ok(Store {
        conn,
        key: db_key,
        user,
        signer: identity,
        device,
        trusted: RefCell::new(trusted),
        kind: profile.file.kind,
        profile_id,
        dir: profile.dir.clone(),
        anchor_dir: profile.anchor_dir.clone(),
        clock,
        warnings: Vec::new(),
        verified: RefCell::new(HashSet::new()),
        batching: std::cell::Cell::new(false),
        in_use_lock: in_use,
    })
}

/// The person unlocking: who, with which identity, and whether that identity was made now
/// (and so still has to be saved into the profile file before the log registers it).
struct Unlocker<'a> {
    user: UserId,
    name: &'a str,
    emergency: bool,
    identity: DeviceIdentity,
    unsaved: std::cell::Cell<bool>,
    save: &'a dyn Fn(&DeviceIdentity) -> Result<(), StoreError>,
}

impl Unlocker<'_> {
    /// Saves a newly made identity into the profile file, once: the file first, so a
    /// registration in the log never refers to a key nobody can unwrap.
    fn save_if_new(&self) -> Result<(), StoreError> {
        if self.unsaved.replace(false) {
            (self.save)(&self.identity)
        } else {
            Ok(())
        }
    }

    fn author<'s>(&'s self, device: &DeviceIdentity, now_ms: i64) -> Author<'s> {
        Author {
            signer: &self.identity,
            actor: self.user,
            device: device.device_id(),
            now_ms,
        }
    }
}

/// Opens the profile's database for the person in `opening` (see the module docs).
pub(super) fn open(
    profile: &Profile,
    opening: Opening<'_>,
    clock: Arc<dyn Clock>,
) -> Result<Store, StoreError> {
    let database = profile.dir.join(super::DATABASE_FILE);
    let mut conn = db::open(&database, &opening.db_key, db::OpenMode::Existing)?;
    let in_use = db::upgrade(&mut conn, &database)?;
    if let Some(user) = opening.user
        && crate::workspace::expected(&conn)?.is_some()
        && !registered(&conn, user)?
    {
        return open_pending(profile, opening, user, (conn, in_use), clock);
    }
    let now = clock.now_ms();
    let (identity, made_now) = match opening.identity {
        Some(i) => (i, false),
        None => (DeviceIdentity::generate(&mut OsRng), true),
    };
    let who = Unlocker {
        user: opening
            .user
            .unwrap_or_else(|| user_id_of(&identity.public())),
        name: &opening.name,
        emergency: opening.user.is_none(),
        identity,
        unsaved: std::cell::Cell::new(made_now),
        save: opening.save_identity,
    };
    let profile_id = profile.file.id_bytes()?;

    let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
    let kind = profile_kind(&tx, profile)?;
    let (device, device_is_new, mut warnings, rollback) =
        device_and_anchor(&tx, profile, &opening.db_key, &profile_id, now)?;
    let file_key = FileKey::of(&opening.db_key);
    let (altered, reseal, seen) = check_profile_file(&tx, profile, &file_key, &mut warnings)?;
    let device_is_new =
        !import_pending_legacy(&tx, profile, kind, &who, &device, now)? && device_is_new;
    let trusted = confirm_identity(&tx, &who, &device, now)?;
    let state = trusted.state(who.user).ok_or(StoreError::UnknownUser)?;
    if state.removed {
        return Err(StoreError::UnknownUser);
    }
    if state.role == Role::Patient && kind == ProfileKind::Clinic {
        return Err(StoreError::PatientUserRefused);
    }
    let name: String = tx.query_row(
        "SELECT name FROM users WHERE id = ?1",
        [who.user.to_hex()],
        |r| r.get(0),
    )?;
    let author = who.author(&device, now);
    if device_is_new {
        oplog::append(
            &tx,
            &author,
            RecordId([0; 16]),
            &device_registration(&device),
        )?;
    }
    let failures = record_unlock(
        &tx,
        profile,
        &author,
        [
            rollback.map(|d| (AuditAction::RollbackDetected, d)),
            altered.map(|d| (AuditAction::ProfileFileAltered, d)),
        ],
        opening.action,
        opening.reason.clone(),
    )?;
    tx.commit()?;
    if reseal {
        // Sealed as it is now, so the same finding is not reported at every unlock. A file
        // that cannot be written (rebuilt from a recovery sheet, with nothing on disk) stays
        // unsealed.
        // Numbered above anything this database has seen, so it is not taken for an older copy.
        let _ = ProfileFile::update(&profile.dir, &file_key, |f| {
            f.generation = f.generation.max(seen);
            Ok(())
        });
    }
    if failures {
        std::fs::remove_file(profile.dir.join(FAILURES_FILE))?;
    }
    let store = Store {
        conn,
        key: opening.db_key,
        user: User {
            id: who.user,
            name,
            role: state.role,
        },
        signer: who.identity,
        device,
        trusted: RefCell::new(trusted),
        kind,
        profile_id,
        dir: profile.dir.clone(),
        anchor_dir: profile.anchor_dir.clone(),
        clock,
        warnings,
        verified: RefCell::new(HashSet::new()),
        batching: std::cell::Cell::new(false),
        in_use_lock: in_use,
    };
    let _ = store.write_anchor();
    Ok(store)
}

fn registered(conn: &Connection, user: UserId) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
        [user.to_hex()],
        |r| r.get(0),
    )?)
}

/// A session on a device that joined a workspace and waits for an admin to admit it: its log
/// does not know this person yet, so nothing is written (an operation by an unknown author
/// would be refused everywhere); sync is all it can do.
fn open_pending(
    profile: &Profile,
    opening: Opening<'_>,
    user: UserId,
    (conn, in_use): (Connection, db::InUse),
    clock: Arc<dyn Clock>,
) -> Result<Store, StoreError> {
    let identity = opening.identity.ok_or(StoreError::UnknownUser)?;
    let device = device::load(&conn, &opening.db_key)?.ok_or(StoreError::Corrupt(
        "a joining device without its device identity",
    ))?;
    let trusted = TrustedKeys::load(&conn)?;
    let kind = profile_kind(&conn, profile)?;
    Ok(Store {
        conn,
        key: opening.db_key,
        user: User {
            id: user,
            name: opening.name,
            role: opening.role,
        },
        signer: identity,
        device,
        trusted: RefCell::new(trusted),
        kind,
        profile_id: profile.file.id_bytes()?,
        dir: profile.dir.clone(),
        anchor_dir: profile.anchor_dir.clone(),
        clock,
        warnings: Vec::new(),
        verified: RefCell::new(HashSet::new()),
        batching: std::cell::Cell::new(false),
        in_use_lock: in_use,
    })
}

/// Clinic or patient profile, from the database's own record (which outranks the
/// unauthenticated file); a file that names another database is refused.
fn profile_kind(tx: &Connection, profile: &Profile) -> Result<ProfileKind, StoreError> {
    if let Some(stored) = meta(tx, "profile_id")?
        && stored != profile.file.profile_id
    {
        return Err(StoreError::ProfileFile {
            file: super::PROFILE_FILE,
            reason: "it belongs to another database",
        });
    }
    match meta(tx, "profile_kind")?.as_deref() {
        Some("patient") => Ok(ProfileKind::Patient),
        Some("clinic") => Ok(ProfileKind::Clinic),
        Some(_) => Err(StoreError::Corrupt("unknown profile kind")),
        None => Ok(profile.file.kind),
    }
}

/// This installation's device, and what its log-head anchor says about the database, checked
/// before anything is written. After a rollback the device is replaced, so that no sequence
/// number already shown is used again; the description goes into the log.
fn device_and_anchor(
    tx: &Connection,
    profile: &Profile,
    db_key: &[u8; 32],
    profile_id: &[u8; 16],
    now: i64,
) -> Result<(DeviceIdentity, bool, Vec<UnlockWarning>, Option<String>), StoreError> {
    let loaded = device::load(tx, db_key)?;
    // A database that has operations was anchored (unless it is one being upgraded, which
    // has none yet): a missing anchor is news even if the `anchored` flag was edited away.
    let has_ops: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM ops)", [], |r| r.get(0))?;
    // A device that joined a workspace has no anchor until its first lock after admission.
    let joined_unanchored = meta(tx, "anchored")?.as_deref() == Some("joined");
    let expect = !profile.just_restored
        && !joined_unanchored
        && (has_ops || meta(tx, "anchored")?.as_deref() == Some("1"));
    let warnings = anchor::check(
        tx,
        &profile.dir,
        profile.anchor_dir.as_deref(),
        profile_id,
        loaded.as_ref().map(DeviceIdentity::public).as_ref(),
        expect,
    )?;
    let Some(device) = loaded else {
        let rollback = describe_rollback(&warnings);
        return Ok((device::create(tx, db_key, now)?, true, warnings, rollback));
    };
    let rollback = describe_rollback(&warnings);
    if rollback.is_some() {
        return Ok((device::create(tx, db_key, now)?, true, warnings, rollback));
    }
    Ok((device, false, warnings, None))
}

/// Where the database remembers the highest `profile.json` generation it has seen.
const FILE_GENERATION: &str = "profile_file_generation";

/// The highest `profile.json` generation this database has seen (0: none sealed yet).
fn seen_generation(conn: &Connection) -> Result<u64, StoreError> {
    Ok(meta(conn, FILE_GENERATION)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

impl Store {
    /// Remembers that `profile.json` was just written at `generation` by this session, so an
    /// older copy put back before the next unlock is found too.
    pub(crate) fn note_profile_file(&self, generation: u64) -> Result<(), StoreError> {
        let seen = seen_generation(&self.conn)?;
        set_meta(
            &self.conn,
            FILE_GENERATION,
            &seen.max(generation).to_string(),
        )
    }
}

/// Checks `profile.json`'s seal and generation against what this database has seen, and
/// remembers the newer generation. Returns what to record (nothing for a file from before
/// sealing, which is sealed now; also added to `warnings`), whether to seal the file again, and
/// the newest generation the database has seen (a file sealed again is numbered above it).
fn check_profile_file(
    tx: &Connection,
    profile: &Profile,
    key: &FileKey,
    warnings: &mut Vec<UnlockWarning>,
) -> Result<(Option<String>, bool, u64), StoreError> {
    let seen = seen_generation(tx)?;
    let file = &profile.file;
    if profile.from_sheet {
        // Rebuilt in memory from the recovery sheet: nothing on disk to check or seal.
        return Ok((None, false, seen));
    }
    let (altered, reseal) = match file.seal(key)? {
        // A file from before sealing, on a database that never saw a sealed one.
        Seal::Unsealed if seen == 0 => (None, true),
        // This database has seen sealed files: a file without a seal had it removed.
        Seal::Unsealed => (
            Some("profile.json lost its seal: it was changed by someone who cannot open the database".to_owned()),
            true,
        ),
        Seal::Broken => (
            Some("profile.json was changed by someone who cannot open the database".to_owned()),
            true,
        ),
        // A restored profile's file is new, and its database remembers the original's.
        Seal::Valid if file.generation < seen && !profile.just_restored => {
            // Another process may have written a newer file since this one was read.
            let on_disk = ProfileFile::read(&profile.dir)
                .ok()
                .filter(|f| f.seal(key).ok() == Some(Seal::Valid))
                .map_or(0, |f| f.generation);
            if on_disk >= seen {
                (None, false)
            } else {
                (
                    Some(format!(
                        "an older copy of profile.json was put back (generation {} of {seen})",
                        file.generation
                    )),
                    true,
                )
            }
        }
        Seal::Valid => (None, false),
    };
    let newest = if profile.just_restored {
        file.generation
    } else {
        seen.max(file.generation)
    };
    set_meta(tx, FILE_GENERATION, &newest.to_string())?;
    if let Some(reason) = &altered {
        warnings.push(UnlockWarning::ProfileFileAltered {
            reason: reason.clone(),
        });
    }
    Ok((altered, reseal, newest))
}

/// What the audit trail records of a rollback warning (counts and facts, no patient data).
fn describe_rollback(warnings: &[UnlockWarning]) -> Option<String> {
    warnings.iter().find_map(|w| match w {
        UnlockWarning::RolledBack { missing } => Some(format!(
            "{missing} operation(s) of this device are missing since the last recorded head"
        )),
        UnlockWarning::ForeignHead => {
            Some("the database is not the one this device last recorded".to_owned())
        }
        _ => None,
    })
}

/// Imports a schema 2 profile's records if any are waiting (see [`import_legacy`]); returns
/// whether it did (the device is then registered by the import).
fn import_pending_legacy(
    tx: &Connection,
    profile: &Profile,
    kind: ProfileKind,
    who: &Unlocker<'_>,
    device: &DeviceIdentity,
    now: i64,
) -> Result<bool, StoreError> {
    if !legacy::pending(tx)? {
        return Ok(false);
    }
    // Old-schema tables in a profile that already has a log were put there by hand: importing
    // them would fabricate records.
    let has_ops: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM ops)", [], |r| r.get(0))?;
    if has_ops {
        return Err(StoreError::Corrupt(
            "schema 2 tables reappeared in an upgraded profile",
        ));
    }
    import_legacy(tx, profile, kind, who, device, now)?;
    Ok(true)
}

/// A schema 2 profile: the first person to unlock registers themselves and the device, then
/// imports every old record.
fn import_legacy(
    tx: &Connection,
    profile: &Profile,
    kind: ProfileKind,
    who: &Unlocker<'_>,
    device: &DeviceIdentity,
    now: i64,
) -> Result<(), StoreError> {
    let role = if who.emergency {
        Role::Emergency
    } else {
        legacy::legacy_role(tx, who.user)?.ok_or(StoreError::UnknownUser)?
    };
    if role == Role::Patient {
        return Err(StoreError::PatientUserRefused);
    }
    who.save_if_new()?;
    set_meta(tx, "profile_id", &profile.file.profile_id)?;
    set_meta(tx, "profile_kind", kind.as_str())?;
    let author = who.author(device, now);
    oplog::append(
        tx,
        &author,
        RecordId::from(who.user),
        &registration(who.user, who.name, role, &who.identity),
    )?;
    oplog::append(tx, &author, RecordId([0; 16]), &device_registration(device))?;
    legacy::import(tx, &author)
}

/// The users' keys from their signed registrations (the table must agree with them), and the
/// unlocking person's identity checked against theirs, or registered when they have none yet.
fn confirm_identity(
    tx: &Connection,
    who: &Unlocker<'_>,
    device: &DeviceIdentity,
    now: i64,
) -> Result<TrustedKeys, StoreError> {
    let trusted = TrustedKeys::load(tx)?;
    trusted.check_table(tx)?;
    let register = |name: &str, role: Role| -> Result<TrustedKeys, StoreError> {
        who.save_if_new()?;
        oplog::append(
            tx,
            &who.author(device, now),
            RecordId::from(who.user),
            &registration(who.user, name, role, &who.identity),
        )?;
        TrustedKeys::load(tx)
    };
    match trusted.state(who.user) {
        None if who.emergency => register(EMERGENCY_USER_NAME, Role::Emergency),
        None => Err(StoreError::UnknownUser),
        // Imported without a key: this person registers theirs now (trust on first use).
        Some(state) if state.signing_key.is_none() => register(who.name, state.role),
        Some(state) if state.signing_key != Some(*who.identity.public().signing_key()) => {
            Err(StoreError::IdentityMismatch)
        }
        Some(_) => Ok(trusted),
    }
}

/// Records the failed unlocks since the last one, what the checks found (a rollback, an
/// altered profile file), and this unlock (or emergency access, with its reason). Returns
/// whether there were failures to clear.
fn record_unlock(
    tx: &Connection,
    profile: &Profile,
    author: &Author<'_>,
    found: [Option<(AuditAction, String)>; 2],
    action: AuditAction,
    reason: Option<String>,
) -> Result<bool, StoreError> {
    let failures: Failures = profile.failures(author.now_ms);
    for (at, who) in &failures.failures {
        let subject = who.as_deref().and_then(|w| w.parse().ok());
        oplog::append(
            tx,
            author,
            RecordId([0; 16]),
            &audit(AuditAction::UnlockFailed, subject, Some(*at), None),
        )?;
    }
    for (finding, detail) in found.into_iter().flatten() {
        oplog::append(
            tx,
            author,
            RecordId([0; 16]),
            &audit(finding, None, None, Some(detail)),
        )?;
    }
    oplog::append(
        tx,
        author,
        RecordId([0; 16]),
        &audit(action, None, None, reason),
    )?;
    set_meta(tx, "anchored", "1")?;
    Ok(!failures.failures.is_empty())
}

/// The emergency user registers itself, signing with the recovery key's identity: nobody
/// without that key can make an emergency user (see `authz`).
fn register_emergency(
    tx: &Connection,
    emergency: &DeviceIdentity,
    device: outpost_proto::DeviceId,
    now: i64,
) -> Result<(), StoreError> {
    let id = user_id_of(&emergency.public());
    let author = Author {
        signer: emergency,
        actor: id,
        device,
        now_ms: now,
    };
    oplog::append(
        tx,
        &author,
        RecordId::from(id),
        &registration(id, EMERGENCY_USER_NAME, Role::Emergency, emergency),
    )?;
    Ok(())
}

impl Store {
    /// Replaces the emergency user with the one of a new recovery key (a restored profile has a
    /// new one): the active emergency users are removed by the signed-in user, and the new one
    /// registers itself.
    pub(crate) fn replace_emergency(
        &mut self,
        emergency: &DeviceIdentity,
    ) -> Result<(), StoreError> {
        let active: Vec<UserId> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM users WHERE role = 'emergency' AND removed_at IS NULL")?;
            let rows = stmt.query_map([], |r| crate::records::id_col(r, 0))?;
            rows.collect::<Result<_, _>>()?
        };
        let device = self.device.device_id();
        self.write_with(|tx, author| {
            for user in &active {
                oplog::append(
                    tx,
                    author,
                    RecordId::from(*user),
                    &Payload::UserRemoved(outpost_proto::payload::UserRemoved { user: *user }),
                )?;
            }
            register_emergency(tx, emergency, device, author.now_ms)
        })?;
        // The registrations changed: verify them again for this session.
        *self.trusted.borrow_mut() = TrustedKeys::load(&self.conn)?;
        Ok(())
    }

    /// Writes the log head anchor (both copies) for this device's newest operation.
    pub(crate) fn write_anchor(&self) -> Result<(), StoreError> {
        let Some((seq, hash)) = oplog::device_head(&self.conn, self.device.device_id())? else {
            return Ok(());
        };
        anchor::write(
            &self.dir,
            self.anchor_dir.as_deref(),
            &anchor::Anchor {
                profile_id: self.profile_id,
                device: self.device.device_id(),
                seq,
                hash,
                written_at: self.clock.now_ms(),
            },
            &self.device,
        )
    }

    /// Whether the signed-in user may make `payload` (checked before anything is written).
    pub(crate) fn check_allowed(&self, payload: &Payload) -> Result<(), StoreError> {
        crate::apply::authorize(
            &self.conn,
            payload,
            self.user.id,
            self.device.device_id(),
            None,
        )
    }
}
