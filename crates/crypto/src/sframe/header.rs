//! The SFrame header (RFC 9605 section 4.3): a key id and a counter in 1 to 17 bytes.
//!
//! First byte `X KKK Y CCC`: with X = 0 the key id is KKK itself (0..=7); with X = 1, KKK + 1
//! big-endian bytes of key id follow. The counter works the same with Y and CCC, after the key
//! id bytes. Encoding always uses the fewest bytes; decoding accepts any length the format
//! allows, since the exact header bytes are authenticated as AAD anyway.

use crate::CryptoError;

/// Longest possible header: 1 config byte + 8 key id bytes + 8 counter bytes.
pub const MAX_HEADER_LEN: usize = 17;

/// A parsed SFrame header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SframeHeader {
    /// Key id.
    pub kid: u64,
    /// Frame counter.
    pub ctr: u64,
}

impl SframeHeader {
    /// Appends the minimal encoding of this header to `out`; returns its length.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> usize {
        let (kid_bits, kid_bytes, kid_len) = field(self.kid);
        let (ctr_bits, ctr_bytes, ctr_len) = field(self.ctr);
        out.push(kid_bits << 4 | ctr_bits);
        out.extend_from_slice(&kid_bytes[8 - kid_len..]);
        out.extend_from_slice(&ctr_bytes[8 - ctr_len..]);
        1 + kid_len + ctr_len
    }

    /// The minimal encoding of this header.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_HEADER_LEN);
        self.encode_into(&mut out);
        out
    }

    /// Parses a header from the front of `frame`; returns it and its encoded length.
    pub fn decode(frame: &[u8]) -> Result<(Self, usize), CryptoError> {
        let (&config, rest) = frame.split_first().ok_or(CryptoError::Truncated)?;
        let (kid, kid_len) = read_field(config >> 4, rest)?;
        let (ctr, ctr_len) = read_field(
            config & 0x0f,
            rest.get(kid_len..).ok_or(CryptoError::Truncated)?,
        )?;
        Ok((Self { kid, ctr }, 1 + kid_len + ctr_len))
    }
}

/// The 4 config bits for `value`, its big-endian bytes, and how many of those bytes follow the
/// config byte (0 when the value fits in the 3 bits itself).
fn field(value: u64) -> (u8, [u8; 8], usize) {
    let bytes = value.to_be_bytes();
    match u8::try_from(value) {
        Ok(small) if small < 8 => (small, bytes, 0),
        _ => {
            let len = bytes
                .iter()
                .position(|&b| b != 0)
                .map_or(1, |first| 8 - first);
            // len is 1..=8, so len - 1 fits the 3-bit length field.
            let len_bits = u8::try_from(len - 1).unwrap_or(7);
            (0x08 | len_bits, bytes, len)
        }
    }
}

/// Reads one field given its 4 config bits (`X KKK` or `Y CCC`).
fn read_field(bits: u8, rest: &[u8]) -> Result<(u64, usize), CryptoError> {
    if bits & 0x08 == 0 {
        return Ok((u64::from(bits & 0x07), 0));
    }
    let len = usize::from(bits & 0x07) + 1;
    let bytes = rest.get(..len).ok_or(CryptoError::Truncated)?;
    Ok((
        bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        len,
    ))
}
