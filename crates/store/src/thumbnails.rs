//! Thumbnails of image attachments: made once on this device (when a photo is added here, or
//! the first time one that arrived by sync is shown) and kept in a local cache table, so that
//! opening a chart shows small previews and never loads full photos.
//!
//! Photos come from cameras, phones and other devices: decoding is bounded (dimensions and
//! memory), and anything that is not a JPEG or PNG that decodes gets no thumbnail.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, metadata::Orientation};
use rusqlite::{OptionalExtension, params};

use crate::{AttachmentId, Store, StoreError};

/// The longest edge of a thumbnail, in pixels.
pub const EDGE: u32 = 320;
/// Images larger than this are not read to make a thumbnail.
pub const MAX_SOURCE_BYTES: u64 = 50 * 1024 * 1024;
/// Widest or tallest image decoded (a 100-megapixel camera is well within).
const MAX_DIMENSION: u32 = 16_384;
/// Most memory a decode may take.
const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;

/// A JPEG thumbnail of a JPEG or PNG image, or `None` when it is neither or does not decode
/// within the limits.
pub fn make(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    if !matches!(reader.format(), Some(ImageFormat::Jpeg | ImageFormat::Png)) {
        return None;
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().ok()?;
    // Phones store portrait photos sideways with an EXIF orientation: turned upright here, as
    // a viewer would show them.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).ok()?;
    image.apply_orientation(orientation);
    let small = image.thumbnail(EDGE, EDGE).into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&small)
        .ok()?;
    Some(out)
}

impl Store {
    /// Keeps a thumbnail of `bytes` (an image just added) for attachment `id`; nothing for
    /// what is not a JPEG or PNG.
    pub fn keep_thumbnail(&self, id: AttachmentId, bytes: &[u8]) -> Result<(), StoreError> {
        if let Some(thumb) = make(bytes) {
            self.conn.execute(
                "INSERT OR REPLACE INTO attachment_thumbnails (attachment_id, media_type, data)
                 VALUES (?1, 'image/jpeg', ?2)",
                params![id.to_hex(), thumb],
            )?;
        }
        Ok(())
    }

    /// The thumbnail of an image attachment (a JPEG), made now if this device has none yet;
    /// `None` for other files, images over [`MAX_SOURCE_BYTES`] and images that do not decode.
    /// Making one reads the attachment (audited as a read); showing a kept one is part of the
    /// chart read.
    pub fn attachment_thumbnail(
        &mut self,
        id: AttachmentId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let info = self.attachment_info(id)?;
        if !info.media_type.starts_with("image/") {
            return Ok(None);
        }
        let already = kept(&self.conn, id)?;
        if already.is_some() || info.size > MAX_SOURCE_BYTES {
            return Ok(already);
        }
        let mut bytes = Vec::with_capacity(usize::try_from(info.size).unwrap_or(0));
        self.read_attachment(id, &mut bytes)?;
        self.keep_thumbnail(id, &bytes)?;
        kept(&self.conn, id)
    }
}

/// The thumbnail kept for `id`, if any.
fn kept(conn: &rusqlite::Connection, id: AttachmentId) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT data FROM attachment_thumbnails WHERE attachment_id = ?1",
            [id.to_hex()],
            |r| r.get(0),
        )
        .optional()?)
}
