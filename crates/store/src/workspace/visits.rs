//! Video-visit invites: the physician's side (create, check a knock, mark admitted) and the
//! patient's side (keep the code it was given).
//!
//! A visit code is one line: `outpost-visit-1:` and the base64url of the relay URL, the
//! workspace id, the visit id, the physician's device identity, a random 32-byte secret and
//! the expiry. The relay learns the visit id (to let exactly one patient device in, once); the
//! secret stays between the two devices: the patient's knock carries a proof derived from it
//! and the patient device's identity, so the physician knows the device knocking holds the
//! code, and the identity it will call is the one that proved it.

use base64::Engine as _;
use outpost_crypto::{PublicIdentity, primitives};
use outpost_proto::{PatientId, VisitId, WorkspaceId, canon::Canon, canon_struct};
use rand_core::{OsRng, RngCore};
use rusqlite::{OptionalExtension, params};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{ProfileKind, Role, Store, StoreError, workspace::invite::check_relay_url};

/// The prefix of a visit code.
pub const VISIT_PREFIX: &str = "outpost-visit-1:";
/// How long a visit code lasts unless told otherwise: a day.
pub const DEFAULT_VISIT_TTL_MS: i64 = 24 * 3600 * 1000;
/// The longest a visit code may last.
pub const MAX_VISIT_TTL_MS: i64 = 14 * 24 * 3600 * 1000;

canon_struct! {
    /// A visit code's content.
    #[derive(Clone)]
    pub struct VisitWire {
        /// The relay.
        pub relay: String,
        /// The physician's workspace.
        pub workspace: WorkspaceId,
        /// The visit.
        pub visit: VisitId,
        /// The physician's device identity.
        pub host: [u8; 64],
        /// The one-time secret.
        pub secret: [u8; 32],
        /// Expiry (UTC ms).
        pub expires_at: i64,
    }
}

/// A parsed visit code. The secret is never printed.
#[derive(Clone)]
pub struct VisitCode {
    /// The relay's URL.
    pub relay: String,
    /// The physician's workspace.
    pub workspace: WorkspaceId,
    /// The visit.
    pub visit: VisitId,
    /// The physician's device.
    pub host: PublicIdentity,
    /// When the code stops working (UTC ms).
    pub expires_at: i64,
    secret: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for VisitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisitCode")
            .field("relay", &self.relay)
            .field("visit", &self.visit)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

fn bad_code() -> StoreError {
    StoreError::Invalid {
        field: "visit code",
        reason: "this is not an Outpost visit code (copy the whole line)",
    }
}

/// The proof a patient device puts in its knock: keyed by the visit secret, bound to the visit
/// and to the device identity that will be called.
fn knock_proof(secret: &[u8; 32], visit: &VisitId, identity: &PublicIdentity) -> [u8; 32] {
    *primitives::derive_key(
        &visit.0,
        secret,
        &[b"outpost/v1/visit-knock", &identity.to_bytes()],
    )
}

impl VisitCode {
    /// The one-line code.
    pub fn encode(&self) -> String {
        let wire = VisitWire {
            relay: self.relay.clone(),
            workspace: self.workspace,
            visit: self.visit,
            host: self.host.to_bytes(),
            secret: *self.secret,
            expires_at: self.expires_at,
        };
        let bytes = Zeroizing::new(wire.to_canonical());
        format!(
            "{VISIT_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_slice())
        )
    }

    /// Parses a code (surrounding spaces are ignored).
    pub fn parse(code: &str) -> Result<Self, StoreError> {
        let body = code
            .trim()
            .strip_prefix(VISIT_PREFIX)
            .ok_or_else(bad_code)?;
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(body)
                .map_err(|_| bad_code())?,
        );
        let wire = VisitWire::from_canonical(&bytes).map_err(|_| bad_code())?;
        check_relay_url(&wire.relay)?;
        let host = PublicIdentity::from_bytes(&wire.host).map_err(|_| bad_code())?;
        Ok(Self {
            relay: wire.relay,
            workspace: wire.workspace,
            visit: wire.visit,
            host,
            expires_at: wire.expires_at,
            secret: Zeroizing::new(wire.secret),
        })
    }

    /// The proof this device (`me`) sends when it knocks.
    pub fn proof(&self, me: &PublicIdentity) -> [u8; 32] {
        knock_proof(&self.secret, &self.visit, me)
    }
}

/// A visit this device hosts, as the waiting room shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedVisit {
    /// The visit.
    pub visit: VisitId,
    /// The chart it is for.
    pub patient: PatientId,
    /// When the code expires.
    pub expires_at: i64,
    /// The patient device admitted, once one was.
    pub admitted: Option<PublicIdentity>,
}

/// A hosted visit's secret, chart, expiry and admitted device, as stored.
type HostRow = (Vec<u8>, String, i64, Option<Vec<u8>>);

/// Who may invite a patient to a visit.
const HOSTS: &[Role] = &[Role::Physician, Role::Admin];

impl Store {
    /// Creates a visit invite for `patient`, valid `ttl_ms`, hosted by this device. The relay
    /// must still be told (`CreateVisit`) before the patient can knock.
    pub fn create_visit(
        &mut self,
        patient: PatientId,
        ttl_ms: i64,
    ) -> Result<VisitCode, StoreError> {
        if !HOSTS.contains(&self.user.role) {
            return Err(StoreError::NotPermitted {
                action: "inviting a patient to a video visit",
                needs: "a physician or admin",
                role: self.user.role,
            });
        }
        if !(60_000..=MAX_VISIT_TTL_MS).contains(&ttl_ms) {
            return Err(StoreError::Invalid {
                field: "expiry",
                reason: "a visit code lasts between a minute and 14 days",
            });
        }
        let info = self.workspace()?.ok_or(StoreError::NotFound("workspace"))?;
        // The chart must exist (and this user may read it).
        self.patient(patient)?;
        let mut visit = [0u8; 16];
        OsRng.fill_bytes(&mut visit);
        let mut secret = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(secret.as_mut());
        let code = VisitCode {
            relay: info.relay,
            workspace: info.id,
            visit: VisitId(visit),
            host: self.device_identity().public(),
            expires_at: self.now().saturating_add(ttl_ms),
            secret,
        };
        self.insert_visit("host", &code, Some(patient))?;
        Ok(code)
    }

    /// Keeps a visit code on a patient's profile (the one place a patient profile writes).
    pub fn keep_visit_code(&mut self, code: &VisitCode) -> Result<(), StoreError> {
        if self.kind != ProfileKind::Patient {
            return Err(StoreError::Invalid {
                field: "profile",
                reason: "a visit code is joined from the patient's own profile (outpost init --role patient)",
            });
        }
        if code.expires_at <= self.now() {
            return Err(StoreError::Invalid {
                field: "visit code",
                reason: "this visit code has expired; ask the clinic for a new one",
            });
        }
        self.insert_visit("guest", code, None)
    }

    fn insert_visit(
        &self,
        side: &str,
        code: &VisitCode,
        patient: Option<PatientId>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO visits (id, side, secret, patient, workspace, relay, host_identity,
                                 expires_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO NOTHING",
            params![
                code.visit.to_hex(),
                side,
                code.secret.as_slice(),
                patient.map(|p| p.to_hex()),
                code.workspace.to_hex(),
                code.relay,
                code.host.to_bytes().as_slice(),
                code.expires_at,
                self.now(),
            ],
        )?;
        Ok(())
    }

    /// Checks a patient device's knock on a visit this device hosts: the visit exists, has not
    /// expired, was not yet used by another device, and `proof` was made from its secret for
    /// `identity`. Returns the chart the visit is for.
    pub fn check_knock(
        &self,
        visit: VisitId,
        identity: &PublicIdentity,
        proof: &[u8; 32],
    ) -> Result<PatientId, StoreError> {
        let row: Option<HostRow> = self
            .conn
            .query_row(
                "SELECT secret, patient, expires_at, used_by FROM visits
                 WHERE id = ?1 AND side = 'host'",
                [visit.to_hex()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (secret, patient, expires_at, used_by) = row.ok_or(StoreError::NotFound("visit"))?;
        let secret = Zeroizing::new(
            <[u8; 32]>::try_from(secret.as_slice())
                .map_err(|_| StoreError::Corrupt("visit secret"))?,
        );
        let expected = knock_proof(&secret, &visit, identity);
        if !bool::from(expected.ct_eq(proof)) {
            return Err(StoreError::SignatureInvalid("the visit knock's proof"));
        }
        if expires_at <= self.now() {
            return Err(StoreError::Invalid {
                field: "visit code",
                reason: "this visit code has expired",
            });
        }
        if let Some(used) = used_by
            && used.as_slice() != identity.to_bytes().as_slice()
        {
            return Err(StoreError::Invalid {
                field: "visit code",
                reason: "this visit code was already used by another device",
            });
        }
        patient
            .parse()
            .map_err(|_| StoreError::Corrupt("visits patient column"))
    }

    /// Records that the patient device `identity` was admitted to `visit`; the code admits no
    /// other device afterwards.
    pub fn mark_visit_admitted(
        &self,
        visit: VisitId,
        identity: &PublicIdentity,
    ) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE visits SET used_by = ?2, used_at = ?3
             WHERE id = ?1 AND side = 'host' AND (used_by IS NULL OR used_by = ?2)",
            params![visit.to_hex(), identity.to_bytes().as_slice(), self.now()],
        )?;
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::Invalid {
                field: "visit code",
                reason: "this visit code was already used by another device",
            })
        }
    }

    /// The visits this device hosts that have not expired, newest first.
    pub fn hosted_visits(&self) -> Result<Vec<HostedVisit>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, patient, expires_at, used_by FROM visits
             WHERE side = 'host' AND expires_at > ?1 ORDER BY created_at DESC",
        )?;
        let rows = stmt.query_map([self.now()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
            ))
        })?;
        rows.map(|row| {
            let (id, patient, expires_at, used) = row?;
            Ok(HostedVisit {
                visit: id
                    .parse()
                    .map_err(|_| StoreError::Corrupt("visits id column"))?,
                patient: patient
                    .parse()
                    .map_err(|_| StoreError::Corrupt("visits patient column"))?,
                expires_at,
                admitted: used.map(|u| PublicIdentity::from_bytes(&u)).transpose()?,
            })
        })
        .collect()
    }
}
