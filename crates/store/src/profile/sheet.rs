//! The recovery sheet: everything the recovery key needs besides itself to open the database,
//! printed beside the key, so that losing `profile.json` and its copy (a failed disk sector, a
//! careless clean-up, a thief who deleted them) does not lose the records. It holds only the
//! recovery wraps (ciphertext under the recovery key) and the profile's id and kind: without
//! the key it opens nothing, so it can be printed, photographed and filed.
//!
//! Text form: a title line, then Crockford base32 in groups of four (case, spaces, dashes
//! ignored; I and L read as 1, O as 0) of
//! `"OPRS" || 1 || kind (1: clinic, 2: patient) || profile id (16) || database-key wrap (72)
//! || identity-wrap length (u16 BE, 0 when none) || identity wrap || SHA-256(all before)[..4]`.

use sha2::{Digest, Sha256};

use super::{
    ProfileKind,
    recovery::{decode, encode_into},
};
use crate::{
    StoreError,
    db::{hex, unhex},
};

const MAGIC: &[u8; 4] = b"OPRS";
const VERSION: u8 = 1;
/// The first line of the text form.
pub const TITLE: &str = "OUTPOST RECOVERY SHEET v1";

/// What the recovery key opens the database with when `profile.json` is gone.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoverySheet {
    pub(crate) profile_id: String,
    pub(crate) kind: ProfileKind,
    pub(crate) wrapped_key: String,
    pub(crate) identity: Option<String>,
}

impl std::fmt::Debug for RecoverySheet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoverySheet")
            .field("profile_id", &self.profile_id)
            .finish_non_exhaustive()
    }
}

fn unreadable(reason: &'static str) -> StoreError {
    StoreError::Invalid {
        field: "recovery sheet",
        reason,
    }
}

impl RecoverySheet {
    /// The bytes the text encodes (checksum included).
    fn to_bytes(&self) -> Result<Vec<u8>, StoreError> {
        let id = unhex(&self.profile_id)
            .filter(|id| id.len() == 16)
            .ok_or(unreadable("bad profile id"))?;
        let key = unhex(&self.wrapped_key)
            .filter(|k| k.len() == 72)
            .ok_or(unreadable("bad key wrap"))?;
        let identity = match &self.identity {
            Some(w) => unhex(w).ok_or(unreadable("bad identity wrap"))?,
            None => Vec::new(),
        };
        let identity_len =
            u16::try_from(identity.len()).map_err(|_| unreadable("identity wrap too long"))?;
        let mut out = Vec::with_capacity(128 + identity.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(match self.kind {
            ProfileKind::Clinic => 1,
            ProfileKind::Patient => 2,
        });
        out.extend_from_slice(&id);
        out.extend_from_slice(&key);
        out.extend_from_slice(&identity_len.to_be_bytes());
        out.extend_from_slice(&identity);
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum[..4]);
        Ok(out)
    }

    /// The sheet as text: the title, then eight groups of four characters per line.
    pub fn text(&self) -> Result<String, StoreError> {
        let mut encoded = String::new();
        encode_into(&self.to_bytes()?, &mut encoded);
        let mut out = String::from(TITLE);
        for (i, group) in encoded.as_bytes().chunks(4).enumerate() {
            out.push(if i % 8 == 0 { '\n' } else { ' ' });
            out.push_str(std::str::from_utf8(group).unwrap_or_default());
        }
        out.push('\n');
        Ok(out)
    }

    /// Reads a sheet as printed or typed: the lines after the title up to the first blank
    /// line (anything printed after it, such as the QR code, is not read), or, without the
    /// title, the whole text. A mistyped character is caught by the checksum.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let body: String = match text.find(TITLE) {
            Some(at) => text[at + TITLE.len()..]
                .lines()
                .skip_while(|l| l.trim().is_empty())
                .take_while(|l| !l.trim().is_empty())
                .collect(),
            None => text.to_owned(),
        };
        let bytes = decode(&body).ok_or(unreadable("a character that is not on the sheet"))?;
        if bytes.len() < 4 + 1 + 1 + 16 + 72 + 2 + 4 || &bytes[..4] != MAGIC {
            return Err(unreadable("not an Outpost recovery sheet, or cut short"));
        }
        if bytes[4] != VERSION {
            return Err(unreadable("made by a newer Outpost"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 4);
        if Sha256::digest(body)[..4] != *sum {
            return Err(unreadable(
                "a character was mistyped (the checksum does not match)",
            ));
        }
        let kind = match body[5] {
            1 => ProfileKind::Clinic,
            2 => ProfileKind::Patient,
            _ => return Err(unreadable("unknown profile kind")),
        };
        let identity_len = usize::from(u16::from_be_bytes([body[94], body[95]]));
        if body.len() != 96 + identity_len {
            return Err(unreadable("its parts do not add up"));
        }
        Ok(Self {
            profile_id: hex(&body[6..22]),
            kind,
            wrapped_key: hex(&body[22..94]),
            identity: (identity_len > 0).then(|| hex(&body[96..])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> RecoverySheet {
        RecoverySheet {
            profile_id: "00112233445566778899aabbccddeeff".into(),
            kind: ProfileKind::Clinic,
            wrapped_key: "ab".repeat(72),
            identity: Some("cd".repeat(120)),
        }
    }

    #[test]
    fn text_round_trips_as_typed_and_a_typo_is_caught() {
        let text = sheet().text().unwrap();
        assert!(text.starts_with(TITLE));
        assert_eq!(RecoverySheet::parse(&text).unwrap(), sheet());
        let typed = text[TITLE.len()..].to_lowercase().replace(' ', "-");
        assert_eq!(RecoverySheet::parse(&typed).unwrap(), sheet());
        // One character changed anywhere is refused, never read as another sheet.
        let body_start = TITLE.len() + 1;
        for at in
            (body_start..text.len() - 1).filter(|i| text.as_bytes()[*i].is_ascii_alphanumeric())
        {
            let mut bytes = text.clone().into_bytes();
            bytes[at] = if bytes[at] == b'2' { b'3' } else { b'2' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(
                RecoverySheet::parse(&changed).is_err(),
                "a typo at {at} went unseen"
            );
        }
        let no_identity = RecoverySheet {
            identity: None,
            ..sheet()
        };
        assert_eq!(
            RecoverySheet::parse(&no_identity.text().unwrap()).unwrap(),
            no_identity
        );
        assert!(RecoverySheet::parse(&text[..text.len() / 2]).is_err());
        assert!(RecoverySheet::parse("OUTPOST RECOVERY SHEET v1\nhello").is_err());
    }
}
