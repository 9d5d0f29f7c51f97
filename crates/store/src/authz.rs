//! What each role may do, as pure rules. The same rules run where an operation is made (before
//! it is signed), where it is applied (local or synced), and where the log is verified, so a
//! modified client cannot slip in an operation its author had no right to make.

use outpost_proto::{OpKind, Payload, Role, UserId, payload::UserAdded};

/// What the rules need to know about the acting user, as the log says at that point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ActorState {
    /// Their role.
    pub role: Role,
    /// Their registered Ed25519 key; `None` for an imported user who has not registered yet.
    pub signing_key: Option<[u8; 32]>,
    /// Whether they were removed.
    pub removed: bool,
}

/// Why an operation is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// The actor's role does not allow the action.
    Role {
        action: &'static str,
        needs: &'static str,
        role: Role,
    },
    /// The actor is not a user of this profile (or was removed).
    UnknownActor,
    /// A user registration (or removal) that breaks the registration rules.
    BadRegistration(&'static str),
    /// A record imported from before signatures, outside the one-time import.
    NotImporting,
}

/// Facts about the log at the point an operation is judged.
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::struct_excessive_bools)] // independent facts, each named
pub(crate) struct Context {
    /// Whether any user is registered yet (the first registers themselves).
    pub any_users: bool,
    /// Whether an emergency user is registered and not removed.
    pub emergency_active: bool,
    /// Whether the operation's device is still in its one-time import of schema 2 records:
    /// everything before it in that device's log is its first registration, its device
    /// registration or imported records.
    pub importing: bool,
    /// For the first registration of a log: whether it is the one the workspace was founded
    /// on (its hash gives the workspace id this device joined); always true on a device in no
    /// workspace. A relay cannot slip in a first user of its own.
    pub root_ok: bool,
}

const CARE_TEAM: &[Role] = &[Role::Physician, Role::Nurse, Role::Admin];
/// Who manages a workspace's membership (admins, and physicians, who add users today).
pub(crate) const MANAGERS: &[Role] = &[Role::Admin, Role::Physician];
/// Who signs notes.
const SIGNERS: &[Role] = &[Role::Physician];
/// Who adds addenda to signed notes.
const ADDENDUM_WRITERS: &[Role] = &[Role::Physician, Role::Nurse];
/// Who keeps the problem list (diagnoses): the clinicians.
const CLINICIANS: &[Role] = &[Role::Physician, Role::Nurse];
/// Who prescribes and stops medications. (A clinic setting letting nurses prescribe is for
/// later; until then only physicians.)
const PRESCRIBERS: &[Role] = &[Role::Physician];
/// Who makes backups (every chart is in one): managers, and emergency access.
pub(crate) const BACKUP_MAKERS: &[Role] = &[Role::Admin, Role::Physician, Role::Emergency];
/// Everyone, for what only records an event.
const ANYONE: &[Role] = &[
    Role::Physician,
    Role::Nurse,
    Role::Admin,
    Role::Patient,
    Role::Emergency,
];

/// The kinds a schema 2 import produces; nothing else may be wrapped as imported.
const IMPORTABLE: &[OpKind] = &[
    OpKind::USER_ADDED,
    OpKind::PATIENT_REGISTERED,
    OpKind::ENCOUNTER_OPENED,
    OpKind::ENCOUNTER_FINISHED,
    OpKind::NOTE_CREATED,
    OpKind::NOTE_SIGNED,
    OpKind::ADDENDUM_ADDED,
    OpKind::VITAL_RECORDED,
    OpKind::ATTACHMENT_ADDED,
];

/// Which roles may make an operation with this payload, and how to name it in a message.
/// `None` for payloads with rules of their own (registrations, removals, imports).
fn required(payload: &Payload) -> Option<(&'static str, &'static [Role], &'static str)> {
    Some(match payload {
        Payload::UserAdded(_) | Payload::UserRemoved(_) | Payload::Legacy(_) => return None,
        Payload::DeviceRegistered(_) | Payload::Audit(_) | Payload::Receipt(_) => {
            ("recording this", ANYONE, "any user")
        }
        Payload::WorkspaceCreated(_)
        | Payload::InviteCreated(_)
        | Payload::DeviceAdmitted(_)
        | Payload::DeviceRemoved(_)
        | Payload::UserRoleChanged(_)
        | Payload::EpochStarted(_) => ("managing the workspace", MANAGERS, "an admin or physician"),
        Payload::AlertAcknowledged(_) => {
            ("acknowledging an alert", MANAGERS, "an admin or physician")
        }
        Payload::AlertRulesSet(_) => ("setting the alert rules", MANAGERS, "an admin or physician"),
        Payload::PatientRegistered(_)
        | Payload::PatientFieldSet(_)
        | Payload::EncounterOpened(_)
        | Payload::EncounterFinished(_)
        | Payload::EncounterReasonSet(_)
        | Payload::NoteCreated(_)
        | Payload::NoteRevised(_)
        | Payload::VitalRecorded(_)
        | Payload::AttachmentAdded(_)
        | Payload::AttachmentUploaded(_)
        | Payload::PatientsLinked(_) => (
            "charting",
            CARE_TEAM,
            "a physician, nurse or admin of the care team",
        ),
        Payload::NoteSigned(_) => ("signing a note", SIGNERS, "a physician"),
        Payload::MedicationPrescribed(_) | Payload::MedicationStopped(_) => {
            ("prescribing", PRESCRIBERS, "a physician")
        }
        // Removing an allergy is what lets a prescription through: clinicians only.
        Payload::AllergyRecorded(_) | Payload::AllergyRemoved(_) | Payload::NoKnownAllergies(_) => {
            ("recording allergies", CLINICIANS, "a physician or nurse")
        }
        // A reading struck out stops counting in flags and growth: clinicians only.
        Payload::VitalEnteredInError(_) => (
            "correcting a vital sign",
            CLINICIANS,
            "a physician or nurse",
        ),
        Payload::ProblemAdded(_) | Payload::ProblemResolved(_) => (
            "keeping the problem list",
            CLINICIANS,
            "a physician or nurse",
        ),
        Payload::AddendumAdded(_) => (
            "signing an addendum",
            ADDENDUM_WRITERS,
            "a physician or nurse",
        ),
        // A kind added later: nobody may make it until this build knows its rules.
        _ => ("this kind of change", &[], "a newer version of Outpost"),
    })
}

/// What a role may do, for the screens to offer only what the core accepts (the core still
/// checks every write; these are read from the same rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[allow(clippy::struct_excessive_bools)] // one flag per thing a screen offers
pub struct Capabilities {
    /// Open charts and record patients, encounters, notes, vitals and attachments.
    pub chart: bool,
    /// Sign notes.
    pub sign_notes: bool,
    /// Prescribe and stop medications.
    pub prescribe: bool,
    /// Record allergies and keep the problem list (the clinicians).
    pub clinical_records: bool,
    /// Add addenda to signed notes.
    pub add_addenda: bool,
    /// Make backups.
    pub make_backups: bool,
    /// Add and remove users, manage the workspace, issue a new recovery key.
    pub manage: bool,
    /// The largest file the app hands the core in one piece (larger ones go through the
    /// command line, which streams them).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub max_attachment_bytes: u64,
    /// The shortest passphrase accepted.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub min_passphrase_chars: usize,
}

/// The largest attachment the app sends over its IPC in one piece: it is held in memory twice
/// (the page's buffer and the core's) on laptops with a few GiB.
pub const MAX_APP_ATTACHMENT_BYTES: u64 = 100 * 1024 * 1024;

/// What `role` may do.
pub fn capabilities(role: Role) -> Capabilities {
    Capabilities {
        chart: CARE_TEAM.contains(&role) || role == Role::Emergency,
        sign_notes: SIGNERS.contains(&role),
        prescribe: PRESCRIBERS.contains(&role),
        clinical_records: CLINICIANS.contains(&role),
        add_addenda: ADDENDUM_WRITERS.contains(&role),
        make_backups: BACKUP_MAKERS.contains(&role),
        manage: MANAGERS.contains(&role),
        max_attachment_bytes: MAX_APP_ATTACHMENT_BYTES,
        min_passphrase_chars: crate::profile::MIN_PASSPHRASE_CHARS,
    }
}

/// Whether `actor` may make an operation with `payload`.
///
/// `actor_id` is the operation's actor; `actor` what the log says about them (`None` when
/// unknown); `lookup` answers the same for any other user (the one a registration adds or a
/// removal removes).
pub(crate) fn authorize(
    payload: &Payload,
    actor_id: UserId,
    actor: Option<ActorState>,
    lookup: &dyn Fn(UserId) -> Option<ActorState>,
    ctx: Context,
) -> Result<(), Denied> {
    if let Payload::UserAdded(added) = payload {
        return registration(added, actor_id, actor, lookup, ctx);
    }
    let actor = actor
        .filter(|a| !a.removed && a.signing_key.is_some())
        .ok_or(Denied::UnknownActor)?;
    let role_is = |roles: &[Role], action, needs| {
        if roles.contains(&actor.role) {
            Ok(())
        } else {
            Err(Denied::Role {
                action,
                needs,
                role: actor.role,
            })
        }
    };
    match payload {
        Payload::UserRemoved(removed) => {
            lookup(removed.user)
                .ok_or(Denied::BadRegistration("there is no such user to remove"))?;
            role_is(
                &[Role::Admin, Role::Physician],
                "removing a user",
                "an admin or physician",
            )
        }
        Payload::Legacy(legacy) => {
            if !ctx.importing {
                return Err(Denied::NotImporting);
            }
            let inner_ok = IMPORTABLE.contains(&OpKind(legacy.kind))
                && match legacy.inner() {
                    // An imported user has no key yet: they register it themselves.
                    Ok(Payload::UserAdded(u)) => u.identity.is_none() && u.role != Role::Emergency,
                    Ok(_) => true,
                    Err(_) => false,
                };
            if !inner_ok {
                return Err(Denied::NotImporting);
            }
            role_is(
                &[Role::Physician, Role::Nurse, Role::Admin, Role::Emergency],
                "importing pre-signature records",
                "a care-team user",
            )
        }
        other => {
            let (action, roles, needs) = required(other).ok_or(Denied::UnknownActor)?;
            role_is(roles, action, needs)
        }
    }
}

/// The rules for adding a user:
/// - the first user of a profile adds themselves (and signs with the key they register);
/// - a user imported without a key registers their own key once, keeping their role;
/// - the emergency (recovery key) user registers itself, signing with the emergency key, and
///   only when no emergency user is active; nobody else can make anyone an emergency user;
/// - anyone else is added by an admin or a physician, never as a patient (patients have their
///   own profiles) and never twice.
///
/// The emergency user reads charts, makes backups and records events, and nothing more: it
/// cannot add, remove or promote anyone, so whoever registers one gains no power.
fn registration(
    added: &UserAdded,
    actor_id: UserId,
    actor: Option<ActorState>,
    lookup: &dyn Fn(UserId) -> Option<ActorState>,
    ctx: Context,
) -> Result<(), Denied> {
    let existing = lookup(added.user);
    let self_registration = added.user == actor_id && added.identity.is_some();
    if !ctx.any_users {
        // (The first user may be the emergency user: a profile upgraded from schema 2 whose
        // first unlock is emergency access.)
        return if !self_registration {
            Err(Denied::BadRegistration(
                "the first user must register themselves",
            ))
        } else if !ctx.root_ok {
            Err(Denied::BadRegistration(
                "not the registration this workspace was founded on",
            ))
        } else {
            Ok(())
        };
    }
    if let Some(existing) = existing {
        // Only a pending (imported) user may register, only themselves, only their own role.
        return if existing.signing_key.is_none()
            && !existing.removed
            && self_registration
            && existing.role == added.role
        {
            Ok(())
        } else {
            Err(Denied::BadRegistration("this user is already registered"))
        };
    }
    if added.identity.is_none() {
        return Err(Denied::BadRegistration(
            "a new user must register a signing key",
        ));
    }
    if added.role == Role::Emergency {
        return if !self_registration {
            Err(Denied::BadRegistration(
                "the emergency user registers itself with the recovery key's identity",
            ))
        } else if ctx.emergency_active {
            Err(Denied::BadRegistration(
                "this profile already has an emergency user",
            ))
        } else {
            Ok(())
        };
    }
    let actor = actor
        .filter(|a| !a.removed && a.signing_key.is_some())
        .ok_or(Denied::UnknownActor)?;
    match added.role {
        Role::Patient => Err(Denied::BadRegistration(
            "patients use their own patient profile",
        )),
        _ if matches!(actor.role, Role::Admin | Role::Physician) => Ok(()),
        _ => Err(Denied::Role {
            action: "adding a user",
            needs: "an admin or physician",
            role: actor.role,
        }),
    }
}

/// The key an operation's signature must verify under: the actor's registered key, or for a
/// self-registration the key it registers.
pub(crate) fn signing_key_for(
    payload: &Payload,
    actor_id: UserId,
    actor: Option<ActorState>,
) -> Option<[u8; 32]> {
    if let Payload::UserAdded(added) = payload
        && added.user == actor_id
        && actor.is_none_or(|a| a.signing_key.is_none())
    {
        return added.identity.map(|id| {
            let mut k = [0u8; 32];
            k.copy_from_slice(&id[..32]);
            k
        });
    }
    actor.and_then(|a| a.signing_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_proto::{
        PatientId, Soap,
        payload::{LegacyRecord, NoteSigned, PatientRegistered, UserRemoved},
    };

    fn state(role: Role) -> ActorState {
        ActorState {
            role,
            signing_key: Some([1; 32]),
            removed: false,
        }
    }

    fn none(_: UserId) -> Option<ActorState> {
        None
    }

    const LATER: Context = Context {
        any_users: true,
        emergency_active: false,
        importing: false,
        root_ok: true,
    };

    fn signed() -> Payload {
        Payload::NoteSigned(NoteSigned {
            patient: PatientId([0; 16]),
            encounter: None,
            author: UserId([0; 16]),
            revision: outpost_proto::OpHash([0; 32]),
            soap: Soap::default(),
        })
    }

    /// What the screens are told matches what a write is judged by, for every role.
    #[test]
    fn capabilities_agree_with_the_rules_writes_are_judged_by() {
        let me = UserId([9; 16]);
        for role in ANYONE.iter().copied() {
            let caps = capabilities(role);
            let may = |p: &Payload| authorize(p, me, Some(state(role)), &none, LATER).is_ok();
            assert_eq!(caps.sign_notes, may(&signed()), "{role:?} signing");
            let prescribed =
                Payload::MedicationPrescribed(outpost_proto::payload::MedicationPrescribed {
                    patient: PatientId([0; 16]),
                    encounter: None,
                    atc: None,
                    drug: "paracetamol".into(),
                    dose: "1 g".into(),
                    route: "oral".into(),
                    frequency: "qds".into(),
                    duration: "3 d".into(),
                    instructions: String::new(),
                    override_reason: None,
                });
            assert_eq!(caps.prescribe, may(&prescribed), "{role:?} prescribing");
            let allergy = Payload::NoKnownAllergies(outpost_proto::payload::NoKnownAllergies {
                patient: PatientId([0; 16]),
            });
            assert_eq!(caps.clinical_records, may(&allergy), "{role:?} allergies");
            let patient = Payload::PatientRegistered(PatientRegistered {
                given_name: "A".into(),
                family_name: "B".into(),
                birth_date: "2000-01-01".into(),
                sex: None,
                clinic_id: None,
                contact: None,
            });
            if role != Role::Emergency {
                assert_eq!(caps.chart, may(&patient), "{role:?} charting");
            }
            assert_eq!(caps.manage, MANAGERS.contains(&role), "{role:?} managing");
        }
        assert!(!capabilities(Role::Nurse).make_backups);
        assert!(!capabilities(Role::Patient).chart);
    }

    #[test]
    fn only_physicians_sign_notes() {
        let me = UserId([9; 16]);
        assert!(authorize(&signed(), me, Some(state(Role::Physician)), &none, LATER).is_ok());
        for role in [Role::Nurse, Role::Admin, Role::Patient, Role::Emergency] {
            assert!(matches!(
                authorize(&signed(), me, Some(state(role)), &none, LATER),
                Err(Denied::Role { .. })
            ));
        }
    }

    #[test]
    fn removed_or_unknown_actors_may_do_nothing() {
        let me = UserId([9; 16]);
        let removed = ActorState {
            removed: true,
            ..state(Role::Physician)
        };
        assert_eq!(
            authorize(&signed(), me, Some(removed), &none, LATER),
            Err(Denied::UnknownActor)
        );
        assert_eq!(
            authorize(&signed(), me, None, &none, LATER),
            Err(Denied::UnknownActor)
        );
        let pending = ActorState {
            signing_key: None,
            ..state(Role::Physician)
        };
        assert_eq!(
            authorize(&signed(), me, Some(pending), &none, LATER),
            Err(Denied::UnknownActor)
        );
    }

    #[test]
    fn patients_and_emergency_users_do_not_chart() {
        let p = Payload::PatientRegistered(PatientRegistered {
            given_name: "a".into(),
            family_name: "b".into(),
            birth_date: "2000-01-01".into(),
            sex: None,
            clinic_id: None,
            contact: None,
        });
        let me = UserId([9; 16]);
        for role in [Role::Patient, Role::Emergency] {
            assert!(authorize(&p, me, Some(state(role)), &none, LATER).is_err());
        }
        assert!(authorize(&p, me, Some(state(Role::Nurse)), &none, LATER).is_ok());
    }

    type Lookup = fn(UserId) -> Option<ActorState>;

    // A lookup has to return an Option, whatever it finds.
    #[allow(clippy::unnecessary_wraps)]
    fn pending(_: UserId) -> Option<ActorState> {
        Some(ActorState {
            role: Role::Nurse,
            signing_key: None,
            removed: false,
        })
    }

    /// Whether user 1 may add `user` with `role`, with a key.
    fn may_add(
        user: u8,
        role: Role,
        actor: Option<ActorState>,
        lookup: Lookup,
        ctx: Context,
    ) -> bool {
        let add = Payload::UserAdded(UserAdded {
            user: UserId([user; 16]),
            name: "x".into(),
            role,
            identity: Some([3; 64]),
        });
        authorize(&add, UserId([1; 16]), actor, &lookup, ctx).is_ok()
    }

    #[test]
    fn registration_rules() {
        let (me, other) = (1, 2);
        let first = Context {
            root_ok: true,
            ..Context::default()
        };
        // In a workspace, only the founding registration may be the first.
        assert!(!may_add(me, Role::Nurse, None, none, Context::default()));
        let with_emergency = Context {
            emergency_active: true,
            ..LATER
        };
        // The first user registers only themselves.
        assert!(may_add(me, Role::Nurse, None, none, first));
        assert!(!may_add(other, Role::Nurse, None, none, first));
        // A nurse may not add users; a physician may; nobody adds a patient.
        assert!(!may_add(
            other,
            Role::Physician,
            Some(state(Role::Nurse)),
            none,
            LATER
        ));
        assert!(may_add(
            other,
            Role::Physician,
            Some(state(Role::Physician)),
            none,
            LATER
        ));
        assert!(!may_add(
            other,
            Role::Patient,
            Some(state(Role::Admin)),
            none,
            LATER
        ));
        // Nobody makes someone else the emergency user, not even an admin; it registers
        // itself, and only when none is active.
        assert!(!may_add(
            other,
            Role::Emergency,
            Some(state(Role::Admin)),
            none,
            LATER
        ));
        assert!(!may_add(
            other,
            Role::Emergency,
            Some(state(Role::Nurse)),
            none,
            LATER
        ));
        assert!(may_add(me, Role::Emergency, None, none, LATER));
        assert!(!may_add(me, Role::Emergency, None, none, with_emergency));
        // The emergency user adds nobody.
        assert!(!may_add(
            other,
            Role::Physician,
            Some(state(Role::Emergency)),
            none,
            LATER
        ));
        // A pending imported user registers only themselves, in their own role.
        assert!(may_add(
            me,
            Role::Nurse,
            pending(UserId([1; 16])),
            pending,
            LATER
        ));
        assert!(!may_add(
            me,
            Role::Physician,
            pending(UserId([1; 16])),
            pending,
            LATER
        ));
        assert!(!may_add(
            other,
            Role::Nurse,
            Some(state(Role::Admin)),
            pending,
            LATER
        ));
        // A registration without a key is refused, first user or not.
        let keyless = Payload::UserAdded(UserAdded {
            user: UserId([1; 16]),
            name: "x".into(),
            role: Role::Nurse,
            identity: None,
        });
        assert!(authorize(&keyless, UserId([1; 16]), None, &none, first).is_err());
    }

    #[test]
    fn removals() {
        let remove = Payload::UserRemoved(UserRemoved {
            user: UserId([2; 16]),
        });
        let me = UserId([1; 16]);
        let physician = |_: UserId| Some(state(Role::Physician));
        let emergency = |_: UserId| Some(state(Role::Emergency));
        assert!(authorize(&remove, me, Some(state(Role::Admin)), &physician, LATER).is_ok());
        assert!(authorize(&remove, me, Some(state(Role::Nurse)), &physician, LATER).is_err());
        assert!(authorize(&remove, me, Some(state(Role::Emergency)), &physician, LATER).is_err());
        // Ending emergency access is an admin's or physician's too: otherwise a nurse could
        // replace the recovery key's user with one of her own.
        assert!(authorize(&remove, me, Some(state(Role::Nurse)), &emergency, LATER).is_err());
        assert!(authorize(&remove, me, Some(state(Role::Physician)), &emergency, LATER).is_ok());
        assert!(authorize(&remove, me, Some(state(Role::Admin)), &none, LATER).is_err());
    }

    #[test]
    fn imported_records_only_in_the_import_and_never_with_keys() {
        let me = UserId([1; 16]);
        let importing = Context {
            importing: true,
            ..LATER
        };
        let wrap = |inner: &Payload| Payload::Legacy(LegacyRecord::wrap(UserId([5; 16]), 1, inner));
        let keyless = Payload::UserAdded(UserAdded {
            user: UserId([6; 16]),
            name: "old".into(),
            role: Role::Nurse,
            identity: None,
        });
        let keyed = Payload::UserAdded(UserAdded {
            identity: Some([3; 64]),
            ..match &keyless {
                Payload::UserAdded(u) => u.clone(),
                _ => unreachable!(),
            }
        });
        let nurse = Some(state(Role::Nurse));
        assert!(authorize(&wrap(&keyless), me, nurse, &none, importing).is_ok());
        assert_eq!(
            authorize(&wrap(&keyless), me, nurse, &none, LATER),
            Err(Denied::NotImporting)
        );
        assert_eq!(
            authorize(&wrap(&keyed), me, nurse, &none, importing),
            Err(Denied::NotImporting),
            "an import never brings a signing key"
        );
        let removal = Payload::UserRemoved(UserRemoved {
            user: UserId([2; 16]),
        });
        assert_eq!(
            authorize(&wrap(&removal), me, nurse, &none, importing),
            Err(Denied::NotImporting)
        );
        assert!(authorize(&wrap(&signed()), me, nurse, &none, importing).is_ok());
    }
}
