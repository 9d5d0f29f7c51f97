//! Typed ids: 16 random bytes each, written as 32 lowercase hex characters in JSON, SQL and
//! on the command line, so a patient id can never be passed where a note id is expected.

use crate::canon::{Canon, DecodeError, Reader, Writer};

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Parses exactly `N` bytes of hex (either case).
pub fn from_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.as_bytes();
    if s.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = (nibble(s[2 * i])? << 4) | nibble(s[2 * i + 1])?;
    }
    Some(out)
}

/// Why a typed id did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id (32 hex characters)")]
pub struct BadId {
    /// What kind of id was expected.
    pub kind: &'static str,
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[cfg_attr(feature = "specta", specta(transparent))]
        pub struct $name(#[cfg_attr(feature = "specta", specta(type = String))] pub [u8; 16]);

        impl $name {
            /// What this id names, for messages.
            pub const KIND: &'static str = $kind;

            /// A fresh random id.
            pub fn random(rng: &mut impl rand_core::RngCore) -> Self {
                let mut b = [0u8; 16];
                rng.fill_bytes(&mut b);
                Self(b)
            }

            /// The id as 32 lowercase hex characters.
            pub fn to_hex(&self) -> String {
                to_hex(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = BadId;
            fn from_str(s: &str) -> Result<Self, BadId> {
                from_hex::<16>(s.trim()).map(Self).ok_or(BadId { kind: $kind })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl Canon for $name {
            fn encode(&self, w: &mut Writer) {
                w.raw(&self.0);
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(Self(r.array()?))
            }
        }
    };
}

id_type!(
    /// A person who uses Outpost (a physician, nurse or admin; or a patient in their own
    /// patient-mode profile).
    UserId,
    "user"
);
id_type!(
    /// A patient's chart.
    PatientId,
    "patient"
);
id_type!(
    /// An encounter (a visit or a consult).
    EncounterId,
    "encounter"
);
id_type!(
    /// A SOAP note.
    NoteId,
    "note"
);
id_type!(
    /// A signed addendum to a note.
    AddendumId,
    "addendum"
);
id_type!(
    /// One recorded vital sign.
    VitalId,
    "vital"
);
id_type!(
    /// A photo or document.
    AttachmentId,
    "attachment"
);
id_type!(
    /// One recorded allergy or intolerance.
    AllergyId,
    "allergy"
);
id_type!(
    /// One prescription (a medication the patient takes, until stopped).
    MedicationId,
    "medication"
);
id_type!(
    /// One entry of a patient's problem list (a diagnosis).
    ProblemId,
    "problem"
);
id_type!(
    /// Whatever an operation is about, when its kind says which id type it is.
    RecordId,
    "record"
);
id_type!(
    /// A care-team workspace: a clinic and its remote physicians, syncing through one relay.
    /// Derived from the hash of its founding operation (see [`WorkspaceId::of_root`]), so an
    /// invite's workspace id pins the root every joiner verifies the log against.
    WorkspaceId,
    "workspace"
);
id_type!(
    /// An invite to a workspace (single use).
    InviteId,
    "invite"
);
id_type!(
    /// A patient's visit: one waiting-room entry, opened with a one-time visit code.
    VisitId,
    "visit"
);

impl WorkspaceId {
    /// The workspace founded by the operation named `root` (the first user's registration).
    pub fn of_root(root: &OpHash) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(b"outpost/v1/workspace-id")
            .chain_update(root.0)
            .finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        Self(id)
    }
}

impl Canon for outpost_crypto::DeviceId {
    fn encode(&self, w: &mut Writer) {
        w.raw(&self.0);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.array()?))
    }
}

macro_rules! into_record_id {
    ($($t:ident),*) => {$(
        impl From<$t> for RecordId {
            fn from(id: $t) -> Self {
                RecordId(id.0)
            }
        }
    )*};
}
into_record_id!(
    UserId,
    PatientId,
    EncounterId,
    NoteId,
    AddendumId,
    VitalId,
    AttachmentId,
    AllergyId,
    MedicationId,
    ProblemId
);

/// The SHA-256 hash that names one operation (see the crate docs).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "specta", specta(transparent))]
pub struct OpHash(#[cfg_attr(feature = "specta", specta(type = String))] pub [u8; 32]);

impl OpHash {
    /// The hash a device's first operation links to.
    pub const GENESIS: Self = Self([0u8; 32]);

    /// 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }
}

impl std::str::FromStr for OpHash {
    type Err = BadId;
    fn from_str(s: &str) -> Result<Self, BadId> {
        from_hex::<32>(s.trim())
            .map(Self)
            .ok_or(BadId { kind: "revision" })
    }
}

impl std::fmt::Display for OpHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Debug for OpHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpHash({})", self.to_hex())
    }
}

impl serde::Serialize for OpHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for OpHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Canon for OpHash {
    fn encode(&self, w: &mut Writer) {
        w.raw(&self.0);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_as_hex_and_refuse_anything_else() {
        let id = PatientId([0xab; 16]);
        assert_eq!(id.to_hex(), "ab".repeat(16));
        assert_eq!(id.to_hex().parse::<PatientId>(), Ok(id));
        assert_eq!("AB".repeat(16).parse::<PatientId>(), Ok(id));
        assert_eq!(
            "ab".repeat(15).parse::<PatientId>(),
            Err(BadId { kind: "patient" })
        );
        assert!("zz".repeat(16).parse::<NoteId>().is_err());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(16)));
        assert_eq!(serde_json::from_str::<PatientId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<PatientId>("\"abc\"").is_err());
    }
}
