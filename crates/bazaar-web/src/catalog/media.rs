//! Product photos: an upload is checked to be a real image (by its bytes, not its name or
//! declared type), decoded within limits, scaled down to at most [`MAX_SIDE`] pixels, and
//! re-encoded as JPEG — which also drops EXIF data such as the GPS position of a villager's
//! phone. The result is kept in a [`PhotoStore`]: on disk by default, content-addressed, so a
//! storage key never changes meaning and can be cached for ever.

use sha2::{Digest, Sha256};
use std::io::Cursor;
use std::path::PathBuf;

/// The longest side of a stored photo, in pixels.
pub const MAX_SIDE: u32 = 1200;
/// The longest side of a photo's thumbnail, the picture of a card in a list: two cards
/// side by side on a 360-pixel phone at twice its pixel density.
pub const THUMB_SIDE: u32 = 360;
/// The largest upload accepted, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// The largest image decoded, in pixels per side (a decompression bomb stops here).
const MAX_DECODE_SIDE: u32 = 10_000;
/// The most pixels decoded: 40 megapixels (a phone's photo is 12–50), read from the image's
/// header before anything is decoded; 160 MB as RGBA at most.
pub const MAX_DECODE_PIXELS: u64 = 40_000_000;
/// Images decoded at once in this process (one per core of the machine we size for):
/// parallel uploads queue instead of multiplying the memory.
pub const PARALLEL_DECODES: usize = 2;

/// The permits of [`PARALLEL_DECODES`].
pub static DECODES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(PARALLEL_DECODES);

/// Where photos are kept. Implementations must be safe to call from many requests at once.
pub trait PhotoStore: Send + Sync {
    /// Stores `bytes` under `key` (idempotent: the same key always holds the same bytes).
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()>;
    /// The bytes under `key`, or `None`.
    fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>>;
}

/// Photos in a directory on the local disk (`data/media` by default).
#[derive(Debug, Clone)]
pub struct DiskPhotos {
    root: PathBuf,
}

impl DiskPhotos {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DiskPhotos { root: root.into() }
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        valid_key(key).then(|| self.root.join(key))
    }
}

/// Whether `key` is a storage key Bazaar makes: `p/<product>/<hex>.jpg`, nothing that could
/// leave the storage root.
pub fn valid_key(key: &str) -> bool {
    key.len() <= 100
        && !key.contains("..")
        && !key.starts_with('/')
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'/' || b == b'.')
}

impl PhotoStore for DiskPhotos {
    #[tracing::instrument(name = "photo_put", skip(self, bytes))]
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self
            .path(key)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad key"))?;
        if path.exists() {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Write then rename, so a crash never leaves a half-written photo under its key.
        let tmp = path.with_extension("part");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)
    }

    #[tracing::instrument(name = "photo_get", skip(self))]
    fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path(key) else {
            return Ok(None);
        };
        match std::fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The kinds of image accepted, recognised by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`).
    Png,
    /// WebP (`RIFF….WEBP`).
    Webp,
}

/// Recognises an image by its magic bytes; `None` for anything else (a PDF, a script, an
/// executable renamed `.jpg`).
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageKind::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(ImageKind::Webp)
    } else {
        None
    }
}

/// Why an upload was refused (the reason code of the `photo` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadError {
    /// Empty upload.
    Empty,
    /// Over [`MAX_UPLOAD_BYTES`].
    TooLarge,
    /// Not a JPEG, PNG or WebP image, or one that does not decode.
    NotAnImage,
    /// More than [`MAX_DECODE_PIXELS`] (or a side over 10,000 pixels).
    TooManyPixels,
}

impl UploadError {
    /// The reason code (`reason-…` in the catalogues).
    pub fn reason(self) -> &'static str {
        match self {
            UploadError::Empty => "required",
            UploadError::TooLarge => "too_large",
            UploadError::NotAnImage => "not_an_image",
            UploadError::TooManyPixels => "too_many_pixels",
        }
    }
}

/// A photo ready to store.
#[derive(Debug, Clone)]
pub struct Processed {
    /// JPEG bytes.
    pub jpeg: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Hex SHA-256 of the JPEG (first 32 characters), the name of the file.
    pub digest: String,
    /// The thumbnail (at most [`THUMB_SIDE`] pixels), stored under [`thumb_key`].
    pub thumb: Vec<u8>,
}

/// Where the thumbnail of the photo under `key` is kept: `p/1/ab.jpg` → `p/1/ab.t.jpg`.
pub fn thumb_key(key: &str) -> String {
    match key.strip_suffix(".jpg") {
        Some(stem) => format!("{stem}.t.jpg"),
        None => format!("{key}.t.jpg"),
    }
}

/// The photo a thumbnail key belongs to (`p/1/ab.t.jpg` → `p/1/ab.jpg`), or `None` when
/// `key` is not a thumbnail's.
pub fn photo_of_thumb(key: &str) -> Option<String> {
    key.strip_suffix(".t.jpg").map(|stem| format!("{stem}.jpg"))
}

/// Flattens transparency onto white (JPEG has no alpha) and encodes as JPEG.
fn encode_jpeg(img: &image::DynamicImage) -> Result<Vec<u8>, UploadError> {
    let rgba = img.to_rgba8();
    let (width, height) = rgba.dimensions();
    let mut rgb = image::RgbImage::new(width, height);
    for (x, y, p) in rgba.enumerate_pixels() {
        let a = u16::from(p[3]);
        let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
        rgb.put_pixel(x, y, image::Rgb([blend(p[0]), blend(p[1]), blend(p[2])]));
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 82)
        .encode_image(&rgb)
        .map_err(|_| UploadError::NotAnImage)?;
    Ok(jpeg)
}

/// The thumbnail of an image already scaled to at most [`MAX_SIDE`].
fn thumb_of(img: &image::DynamicImage) -> Result<Vec<u8>, UploadError> {
    if img.width() > THUMB_SIDE || img.height() > THUMB_SIDE {
        encode_jpeg(&img.resize(
            THUMB_SIDE,
            THUMB_SIDE,
            image::imageops::FilterType::Triangle,
        ))
    } else {
        encode_jpeg(img)
    }
}

/// The thumbnail of a stored photo (a JPEG this module made), for photos kept before
/// thumbnails were: CPU-bound, call it off the async workers.
pub fn thumbnail(stored_jpeg: &[u8]) -> Result<Vec<u8>, UploadError> {
    let mut reader =
        image::ImageReader::with_format(Cursor::new(stored_jpeg), image::ImageFormat::Jpeg);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    reader.limits(limits);
    let img = reader.decode().map_err(|_| UploadError::NotAnImage)?;
    thumb_of(&img)
}

/// Checks, decodes, scales down and re-encodes an upload. CPU-bound: call it off the async
/// workers (`spawn_blocking`).
pub fn process(bytes: &[u8]) -> Result<Processed, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(UploadError::TooLarge);
    }
    let format = match sniff(bytes).ok_or(UploadError::NotAnImage)? {
        ImageKind::Jpeg => image::ImageFormat::Jpeg,
        ImageKind::Png => image::ImageFormat::Png,
        ImageKind::Webp => image::ImageFormat::WebP,
    };
    // The size from the header first: a 400 KB PNG may claim 12,000 × 12,000 pixels.
    let (w, h) = image::ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|_| UploadError::NotAnImage)?;
    if w > MAX_DECODE_SIDE || h > MAX_DECODE_SIDE || u64::from(w) * u64::from(h) > MAX_DECODE_PIXELS
    {
        return Err(UploadError::TooManyPixels);
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|_| UploadError::NotAnImage)?;
    let img = if img.width() > MAX_SIDE || img.height() > MAX_SIDE {
        img.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    // The image is small by now.
    let (width, height) = (img.width(), img.height());
    let jpeg = encode_jpeg(&img)?;
    let thumb = thumb_of(&img)?;
    let digest = hex::encode(Sha256::digest(&jpeg))[..32].to_string();
    Ok(Processed {
        jpeg,
        width,
        height,
        digest,
        thumb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A PNG of `w`×`h` pixels.
    pub fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, 120, 200])
        });
        let mut out = Vec::new();
        image::DynamicImage::ImageRgba8(img)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("png");
        out
    }

    #[test]
    fn a_large_png_becomes_a_bounded_jpeg() {
        let p = process(&png(2400, 1600)).expect("processed");
        assert_eq!((p.width, p.height), (1200, 800));
        assert_eq!(sniff(&p.jpeg), Some(ImageKind::Jpeg));
        let small = process(&png(300, 200)).expect("processed");
        assert_eq!((small.width, small.height), (300, 200), "never scaled up");
        // The card's picture: at most 360 px, from the upload or from the stored photo.
        for t in [&p.thumb, &thumbnail(&p.jpeg).expect("thumbnail")] {
            let (w, h) = image::load_from_memory(t)
                .expect("jpeg")
                .to_rgb8()
                .dimensions();
            assert_eq!((w, h), (360, 240));
        }
        assert_eq!(thumb_key("p/1/ab.jpg"), "p/1/ab.t.jpg");
        assert_eq!(
            photo_of_thumb("p/1/ab.t.jpg").as_deref(),
            Some("p/1/ab.jpg")
        );
        assert_eq!(photo_of_thumb("p/1/ab.jpg"), None);
    }

    #[test]
    fn non_images_and_broken_images_are_refused() {
        assert_eq!(process(b"").err(), Some(UploadError::Empty));
        assert_eq!(
            process(b"%PDF-1.7 not a photo").err(),
            Some(UploadError::NotAnImage)
        );
        let mut truncated = png(50, 50);
        truncated.truncate(40);
        assert_eq!(process(&truncated).err(), Some(UploadError::NotAnImage));
        // A JPEG header followed by garbage.
        assert_eq!(
            process(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).err(),
            Some(UploadError::NotAnImage)
        );
    }

    #[test]
    fn keys_cannot_leave_the_root() {
        assert!(valid_key("p/12/0123abcd.jpg"));
        for k in [
            "../etc/passwd",
            "/etc/passwd",
            "p/1/A.jpg",
            "p/1/x.jpg\0",
            "p\\1",
        ] {
            assert!(!valid_key(k), "{k}");
        }
        let dir = std::env::temp_dir().join(format!("bz-media-{}", std::process::id()));
        let s = DiskPhotos::new(&dir);
        s.put("p/1/ab.jpg", b"x").expect("put");
        assert_eq!(
            s.get("p/1/ab.jpg").expect("get").as_deref(),
            Some(&b"x"[..])
        );
        assert_eq!(s.get("p/1/none.jpg").expect("get"), None);
        assert_eq!(s.get("../x").expect("get"), None);
        let _ = std::fs::remove_dir_all(dir);
    }

    proptest! {
        /// Any bytes: a clean refusal or a bounded JPEG, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            if let Ok(p) = process(&bytes) {
                prop_assert!(p.width <= MAX_SIDE && p.height <= MAX_SIDE);
            }
        }

        /// Corrupting a real PNG anywhere after its signature never panics.
        #[test]
        fn corrupted_images_never_panic(pos in 8usize..400, byte in any::<u8>()) {
            let mut b = png(40, 30);
            let i = pos.min(b.len() - 1);
            b[i] = byte;
            let _ = process(&b);
        }
    }
}
