//! What each role may do, as pure rules. The same rules run where an operation is made (before
//! it is signed), where it is applied (local or synced), and where the log is verified, so a
//! modified client cannot slip in an operation its author had no right to make.

use outpost_proto::{Payload, Role, UserId, payload::UserAdded};

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
    /// A user registration that breaks the registration rules.
    BadRegistration(&'static str),
}

const CARE_TEAM: &[Role] = &[Role::Physician, Role::Nurse, Role::Admin];

/// Which roles may make an operation with this payload, and how to name it in a message.
/// `None` for user registrations, which have their own rules ([`registration`]).
fn required(payload: &Payload) -> Option<(&'static str, &'static [Role], &'static str)> {
    Some(match payload {
        Payload::UserAdded(_) => return None,
        Payload::UserRemoved(_) => (
            "removing a user",
            &[Role::Admin, Role::Physician, Role::Emergency],
            "an admin or physician",
        ),
        Payload::DeviceRegistered(_) | Payload::Audit(_) => (
            "recording this",
            &[
                Role::Physician,
                Role::Nurse,
                Role::Admin,
                Role::Patient,
                Role::Emergency,
            ],
            "any user",
        ),
        Payload::PatientRegistered(_)
        | Payload::PatientFieldSet(_)
        | Payload::EncounterOpened(_)
        | Payload::EncounterFinished(_)
        | Payload::NoteCreated(_)
        | Payload::NoteRevised(_)
        | Payload::VitalRecorded(_)
        | Payload::AttachmentAdded(_) => (
            "charting",
            CARE_TEAM,
            "a physician, nurse or admin of the care team",
        ),
        Payload::NoteSigned(_) => ("signing a note", &[Role::Physician], "a physician"),
        Payload::AddendumAdded(_) => (
            "signing an addendum",
            &[Role::Physician, Role::Nurse],
            "a physician or nurse",
        ),
        Payload::Legacy(_) => (
            "importing pre-signature records",
            &[Role::Physician, Role::Nurse, Role::Admin, Role::Emergency],
            "a care-team user",
        ),
        // A kind added later: nobody may make it until this build knows its rules.
        _ => ("this kind of change", &[], "a newer version of Outpost"),
    })
}

/// Whether `actor` may make an operation with `payload`.
///
/// `actor_id` is the operation's actor; `actor` what the log says about them (`None` when
/// unknown); `lookup` answers the same for any other user (the one a registration adds).
pub(crate) fn authorize(
    payload: &Payload,
    actor_id: UserId,
    actor: Option<ActorState>,
    lookup: &dyn Fn(UserId) -> Option<ActorState>,
    any_users: bool,
    emergency_exists: bool,
) -> Result<(), Denied> {
    if let Payload::UserAdded(added) = payload {
        return registration(added, actor_id, actor, lookup, any_users, emergency_exists);
    }
    let actor = actor.filter(|a| !a.removed && a.signing_key.is_some());
    let Some(actor) = actor else {
        return Err(Denied::UnknownActor);
    };
    let Some((action, roles, needs)) = required(payload) else {
        return Err(Denied::UnknownActor);
    };
    if roles.contains(&actor.role) {
        Ok(())
    } else {
        Err(Denied::Role {
            action,
            needs,
            role: actor.role,
        })
    }
}

/// The rules for adding a user:
/// - the first user of a profile adds themselves (and signs with the key they register);
/// - a user imported without a key registers their own key once, keeping their role;
/// - an emergency (recovery key) user may be added by any user (a patient adds the one of their
///   own profile); it adds itself only when the
///   log has none (a profile upgraded from before emergency users existed);
/// - anyone else is added by an admin, a physician or the emergency user, never as a patient
///   (patients have their own profiles) and never twice.
fn registration(
    added: &UserAdded,
    actor_id: UserId,
    actor: Option<ActorState>,
    lookup: &dyn Fn(UserId) -> Option<ActorState>,
    any_users: bool,
    emergency_exists: bool,
) -> Result<(), Denied> {
    let existing = lookup(added.user);
    if !any_users {
        return if added.user == actor_id && added.identity.is_some() {
            Ok(())
        } else {
            Err(Denied::BadRegistration(
                "the first user must register themselves",
            ))
        };
    }
    if let Some(existing) = existing {
        // Only a pending (imported) user may register, only themselves, only their own role.
        return if existing.signing_key.is_none()
            && !existing.removed
            && added.user == actor_id
            && added.identity.is_some()
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
    if added.role == Role::Emergency && added.user == actor_id && actor.is_none() {
        return if emergency_exists {
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
        Role::Emergency => Ok(()),
        _ if matches!(actor.role, Role::Admin | Role::Physician | Role::Emergency) => Ok(()),
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
        payload::{NoteSigned, PatientRegistered},
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

    fn signed() -> Payload {
        Payload::NoteSigned(NoteSigned {
            patient: PatientId([0; 16]),
            encounter: None,
            author: UserId([0; 16]),
            revision: outpost_proto::OpHash([0; 32]),
            soap: Soap::default(),
        })
    }

    #[test]
    fn only_physicians_sign_notes() {
        let me = UserId([9; 16]);
        assert!(
            authorize(
                &signed(),
                me,
                Some(state(Role::Physician)),
                &none,
                true,
                true
            )
            .is_ok()
        );
        for role in [Role::Nurse, Role::Admin, Role::Patient, Role::Emergency] {
            assert!(matches!(
                authorize(&signed(), me, Some(state(role)), &none, true, true),
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
            authorize(&signed(), me, Some(removed), &none, true, true),
            Err(Denied::UnknownActor)
        );
        assert_eq!(
            authorize(&signed(), me, None, &none, true, true),
            Err(Denied::UnknownActor)
        );
        let pending = ActorState {
            signing_key: None,
            ..state(Role::Physician)
        };
        assert_eq!(
            authorize(&signed(), me, Some(pending), &none, true, true),
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
            assert!(authorize(&p, me, Some(state(role)), &none, true, true).is_err());
        }
        assert!(authorize(&p, me, Some(state(Role::Nurse)), &none, true, true).is_ok());
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

    /// Whether `me` may add `user` with `role` (with a key unless `keyless`).
    fn may_add(
        user: u8,
        role: Role,
        actor: Option<ActorState>,
        lookup: Lookup,
        (any_users, emergency_exists): (bool, bool),
    ) -> bool {
        let add = Payload::UserAdded(UserAdded {
            user: UserId([user; 16]),
            name: "x".into(),
            role,
            identity: Some([3; 64]),
        });
        authorize(
            &add,
            UserId([1; 16]),
            actor,
            &lookup,
            any_users,
            emergency_exists,
        )
        .is_ok()
    }

    #[test]
    fn registration_rules() {
        let (me, other) = (1, 2);
        let first = (false, false);
        let later = (true, false);
        // The first user registers only themselves.
        assert!(may_add(me, Role::Nurse, None, none, first));
        assert!(!may_add(other, Role::Nurse, None, none, first));
        // A nurse may not add users; a physician may; nobody adds a patient.
        assert!(!may_add(
            other,
            Role::Physician,
            Some(state(Role::Nurse)),
            none,
            later
        ));
        assert!(may_add(
            other,
            Role::Physician,
            Some(state(Role::Physician)),
            none,
            later
        ));
        assert!(!may_add(
            other,
            Role::Patient,
            Some(state(Role::Admin)),
            none,
            later
        ));
        // An emergency user is added by any user; it adds itself only when there is none.
        assert!(may_add(
            other,
            Role::Emergency,
            Some(state(Role::Nurse)),
            none,
            (true, true)
        ));
        assert!(may_add(me, Role::Emergency, None, none, later));
        assert!(!may_add(me, Role::Emergency, None, none, (true, true)));
        // A pending imported user registers only themselves, in their own role.
        assert!(may_add(
            me,
            Role::Nurse,
            pending(UserId([1; 16])),
            pending,
            later
        ));
        assert!(!may_add(
            me,
            Role::Physician,
            pending(UserId([1; 16])),
            pending,
            later
        ));
        assert!(!may_add(
            other,
            Role::Nurse,
            Some(state(Role::Admin)),
            pending,
            later
        ));
        // A registration without a key is refused, first user or not.
        let keyless = Payload::UserAdded(UserAdded {
            user: UserId([1; 16]),
            name: "x".into(),
            role: Role::Nurse,
            identity: None,
        });
        assert!(authorize(&keyless, UserId([1; 16]), None, &none, false, false).is_err());
    }
}
