//! Thumbnails of photo attachments: small JPEGs made once and kept, so a chart never loads
//! full photos; anything that is not a JPEG or PNG that decodes within limits gets none, and
//! nothing panics on a crafted file.

mod common;

use common::{Fixture, patient};
use outpost_store::{audit::AuditFilter, thumbnails};

/// A `w`x`h` photo-like gradient, encoded as PNG or JPEG.
fn image_bytes(w: u32, h: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let byte = |v: u32| u8::try_from(v % 256).unwrap_or(0);
        image::Rgb([byte(x), byte(y), byte(x + y)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn dimensions(jpeg: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).unwrap();
    (img.width(), img.height())
}

#[test]
fn a_photo_gets_a_small_jpeg_that_keeps_its_shape() {
    for (format, w, h) in [
        (image::ImageFormat::Png, 1600, 1200),
        (image::ImageFormat::Jpeg, 900, 2400),
    ] {
        let thumb = thumbnails::make(&image_bytes(w, h, format)).expect("a thumbnail");
        let (tw, th) = dimensions(&thumb);
        assert!(tw.max(th) == thumbnails::EDGE, "{format:?}: {tw}x{th}");
        let (ratio, thumb_ratio) = (f64::from(w) / f64::from(h), f64::from(tw) / f64::from(th));
        assert!((ratio - thumb_ratio).abs() < 0.02, "{format:?}: shape kept");
        assert!(thumb.len() < 60_000, "{format:?}: {} bytes", thumb.len());
    }
}

#[test]
fn what_is_not_a_decodable_photo_gets_none_and_nothing_panics() {
    assert!(thumbnails::make(b"%PDF-1.7 a referral letter").is_none());
    assert!(thumbnails::make(b"").is_none());
    // A PNG cut short, and one whose header claims 100,000 x 100,000 pixels (a decompression
    // bomb): refused by the limits before any pixel is allocated.
    let png = image_bytes(64, 64, image::ImageFormat::Png);
    assert!(thumbnails::make(&png[..png.len() / 2]).is_none());
    let mut bomb = png.clone();
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    assert!(thumbnails::make(&bomb).is_none());
    // A GIF is not among what is decoded (fewer decoders, fewer ways in).
    assert!(thumbnails::make(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").is_none());
}

#[test]
fn a_thumbnail_is_made_once_from_the_attachment_and_kept() {
    let (_fx, mut store, _) = Fixture::new();
    let p = store.add_patient(&patient()).unwrap();
    let photo = image_bytes(1200, 900, image::ImageFormat::Jpeg);
    // As an attachment arriving by sync would be: stored, with no thumbnail kept yet.
    let a = store
        .add_attachment(
            p.id,
            None,
            "wound.jpg",
            "image/jpeg",
            std::io::Cursor::new(photo),
        )
        .unwrap();
    let reads = |store: &outpost_store::Store| {
        store
            .audit_entries(&AuditFilter::default())
            .unwrap()
            .iter()
            .filter(|e| e.action == "attachment_read")
            .count()
    };
    let before = reads(&store);
    let first = store.attachment_thumbnail(a.id).unwrap().expect("made now");
    assert_eq!(dimensions(&first), (320, 240));
    assert_eq!(
        reads(&store),
        before + 1,
        "making it read the photo, audited"
    );
    let again = store.attachment_thumbnail(a.id).unwrap().unwrap();
    assert_eq!(again, first);
    assert_eq!(
        reads(&store),
        before + 1,
        "a kept thumbnail does not read the photo again"
    );
    // A document gets none.
    let doc = store
        .add_attachment(
            p.id,
            None,
            "letter.pdf",
            "application/pdf",
            std::io::Cursor::new(b"%PDF".to_vec()),
        )
        .unwrap();
    assert!(store.attachment_thumbnail(doc.id).unwrap().is_none());
}

/// A phone's portrait photo is stored landscape with EXIF orientation 6 (turn 90° clockwise):
/// its thumbnail stands upright, as a viewer shows the photo.
#[test]
fn a_sideways_phone_photo_gets_an_upright_thumbnail() {
    use image::ImageEncoder as _;
    let img = image::RgbImage::from_pixel(1600, 1200, image::Rgb([120, 80, 40]));
    // A minimal big-endian TIFF/EXIF block with one IFD entry: Orientation (0x0112) = 6.
    let exif: Vec<u8> = [
        &b"MM\x00\x2a\x00\x00\x00\x08"[..],
        &[0x00, 0x01],
        &[
            0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00,
        ],
        &[0x00, 0x00, 0x00, 0x00],
    ]
    .concat();
    let mut jpeg = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new(&mut jpeg);
    encoder.set_exif_metadata(exif).unwrap();
    encoder
        .write_image(img.as_raw(), 1600, 1200, image::ExtendedColorType::Rgb8)
        .unwrap();
    let thumb = thumbnails::make(&jpeg).unwrap();
    assert_eq!(dimensions(&thumb), (240, 320), "turned upright");
}
