//! The canonical byte encoding every signed structure uses: one way to write each value, so
//! the bytes that were signed are the bytes that are stored, sent and verified.
//!
//! Integers are fixed-width big-endian; `bool` is `0x00`/`0x01`; `f64` is its IEEE 754 bits,
//! big-endian, finite values only; a string or byte string is a `u32` length then the bytes
//! (strings UTF-8); `Option<T>` is `0x00`, or `0x01` then `T`; `Vec<T>` is a `u32` count then
//! the items. Fixed-size arrays are their bytes. Decoding rejects truncation, trailing bytes,
//! non-canonical flags, invalid UTF-8 and lengths over the limits below, with a
//! [`DecodeError`], never a panic.

/// Longest string or byte string accepted (a long note section fits many times over).
pub const MAX_BYTES: usize = 1024 * 1024;
/// Most items in one list.
pub const MAX_ITEMS: usize = 4096;

/// Why bytes did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside a value.
    #[error("truncated")]
    Truncated,
    /// Bytes remain after the complete value.
    #[error("trailing bytes")]
    Trailing,
    /// A length or count is over its limit.
    #[error("length over limit")]
    TooLong,
    /// A field holds a value the format does not allow.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A coded field (a role, a kind) holds a code this build does not know.
    #[error("unknown {field} code {code}")]
    UnknownCode {
        /// Which field.
        field: &'static str,
        /// The code found.
        code: u32,
    },
    /// The format version is not one this build understands.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
}

/// Appends canonical encodings to a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raw bytes, with no length prefix (fixed-size fields).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A length-prefixed byte string.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.u32(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        self.buf.extend_from_slice(bytes);
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// What has been written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// How many bytes have been written.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Reads canonical encodings from a byte slice.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let out = self
            .bytes
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A length-prefixed byte string of at most [`MAX_BYTES`].
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len =
            usize::try_from(u32::from_be_bytes(self.array()?)).map_err(|_| DecodeError::TooLong)?;
        if len > MAX_BYTES {
            return Err(DecodeError::TooLong);
        }
        self.take(len)
    }

    /// How far into the input the reader is.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Fails unless every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(DecodeError::Trailing)
        }
    }
}

/// A value with one canonical encoding.
pub trait Canon: Sized {
    /// Appends the encoding.
    fn encode(&self, w: &mut Writer);
    /// Reads one value.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// The encoding as a new buffer.
    fn to_canonical(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.into_bytes()
    }

    /// Decodes exactly one value from `bytes`, rejecting trailing bytes.
    fn from_canonical(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

macro_rules! canon_int {
    ($($t:ty),*) => {$(
        impl Canon for $t {
            fn encode(&self, w: &mut Writer) {
                w.raw(&self.to_be_bytes());
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_be_bytes(r.array()?))
            }
        }
    )*};
}
canon_int!(u8, u16, u32, u64, i64);

impl Canon for bool {
    fn encode(&self, w: &mut Writer) {
        w.raw(&[u8::from(*self)]);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.array::<1>()?[0] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Malformed("bool")),
        }
    }
}

impl Canon for f64 {
    fn encode(&self, w: &mut Writer) {
        w.raw(&self.to_bits().to_be_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let v = f64::from_bits(u64::from_be_bytes(r.array()?));
        if v.is_finite() {
            Ok(v)
        } else {
            Err(DecodeError::Malformed("number"))
        }
    }
}

impl Canon for String {
    fn encode(&self, w: &mut Writer) {
        w.bytes(self.as_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        std::str::from_utf8(r.bytes()?)
            .map(str::to_owned)
            .map_err(|_| DecodeError::Malformed("text"))
    }
}

impl<const N: usize> Canon for [u8; N] {
    fn encode(&self, w: &mut Writer) {
        w.raw(self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array()
    }
}

impl<T: Canon> Canon for Option<T> {
    fn encode(&self, w: &mut Writer) {
        match self {
            None => w.raw(&[0]),
            Some(v) => {
                w.raw(&[1]);
                v.encode(w);
            }
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.array::<1>()?[0] {
            0 => Ok(None),
            1 => Ok(Some(T::decode(r)?)),
            _ => Err(DecodeError::Malformed("option flag")),
        }
    }
}

impl<T: Canon> Canon for Vec<T> {
    fn encode(&self, w: &mut Writer) {
        w.u32(u32::try_from(self.len()).unwrap_or(u32::MAX));
        for item in self {
            item.encode(w);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = usize::try_from(u32::decode(r)?).map_err(|_| DecodeError::TooLong)?;
        if n > MAX_ITEMS {
            return Err(DecodeError::TooLong);
        }
        (0..n).map(|_| T::decode(r)).collect()
    }
}

/// A byte string (up to [`MAX_BYTES`]), encoded with a `u32` length like a string.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl Canon for Bytes {
    fn encode(&self, w: &mut Writer) {
        w.bytes(&self.0);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.bytes()?.to_vec()))
    }
}

/// Declares a struct whose canonical encoding is its fields in declaration order.
#[macro_export]
macro_rules! canon_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty ),*
        }

        impl $crate::canon::Canon for $name {
            fn encode(&self, w: &mut $crate::canon::Writer) {
                $( $crate::canon::Canon::encode(&self.$field, w); )*
            }
            fn decode(
                r: &mut $crate::canon::Reader<'_>,
            ) -> Result<Self, $crate::canon::DecodeError> {
                Ok(Self { $( $field: $crate::canon::Canon::decode(r)? ),* })
            }
        }
    };
}

/// Declares a fieldless enum stored as a one-byte code, with its stable text name (for JSON,
/// the CLI and SQL) and a parser that accepts only known names.
#[macro_export]
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($field:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $text:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),*
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The stable text name.
            pub fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $text ),* }
            }

            /// The one-byte wire code.
            pub fn code(self) -> u8 {
                match self { $( Self::$variant => $code ),* }
            }

            /// The value with this text name, if any.
            pub fn from_name(text: &str) -> Option<Self> {
                match text { $( $text => Some(Self::$variant), )* _ => None }
            }

            /// The value with this wire code, if any.
            pub fn from_code(code: u8) -> Option<Self> {
                match code { $( $code => Some(Self::$variant), )* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::canon::Canon for $name {
            fn encode(&self, w: &mut $crate::canon::Writer) {
                w.raw(&[self.code()]);
            }
            fn decode(
                r: &mut $crate::canon::Reader<'_>,
            ) -> Result<Self, $crate::canon::DecodeError> {
                let code = r.array::<1>()?[0];
                Self::from_code(code).ok_or($crate::canon::DecodeError::UnknownCode {
                    field: $field,
                    code: u32::from(code),
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_encodings() {
        assert_eq!(0x0102_u16.to_canonical(), [1, 2]);
        assert_eq!(
            (-2_i64).to_canonical(),
            [0xff; 7].iter().copied().chain([0xfe]).collect::<Vec<_>>()
        );
        assert_eq!(
            "hé".to_owned().to_canonical(),
            [0, 0, 0, 3, b'h', 0xc3, 0xa9]
        );
        assert_eq!(Some(7u8).to_canonical(), [1, 7]);
        assert_eq!(None::<u8>.to_canonical(), [0]);
        assert_eq!(vec![1u8, 2].to_canonical(), [0, 0, 0, 2, 1, 2]);
        assert_eq!(1.5f64.to_canonical(), [0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn rejects_what_is_not_canonical() {
        assert_eq!(
            bool::from_canonical(&[2]),
            Err(DecodeError::Malformed("bool"))
        );
        assert_eq!(
            Option::<u8>::from_canonical(&[2, 0]),
            Err(DecodeError::Malformed("option flag"))
        );
        assert_eq!(u16::from_canonical(&[1, 2, 3]), Err(DecodeError::Trailing));
        assert_eq!(u32::from_canonical(&[1, 2, 3]), Err(DecodeError::Truncated));
        assert_eq!(
            String::from_canonical(&[0, 0, 0, 1, 0xff]),
            Err(DecodeError::Malformed("text"))
        );
        assert_eq!(
            f64::from_canonical(&f64::NAN.to_bits().to_be_bytes()),
            Err(DecodeError::Malformed("number"))
        );
        // A length far beyond the input is refused before anything is allocated.
        assert_eq!(
            String::from_canonical(&[0xff, 0xff, 0xff, 0xff]),
            Err(DecodeError::TooLong)
        );
        assert_eq!(
            Vec::<u8>::from_canonical(&[0, 0, 0x10, 0x01]),
            Err(DecodeError::TooLong)
        );
    }
}
