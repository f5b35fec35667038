//! An uploaded image, checked from its bytes: Rebuttal accepts exactly the formats the
//! image-size library detects, whatever the file is called, and shows their dimensions.
//!
//! The image travels inside the message as a `data:` URL, so it is stored and fanned out with
//! the message and needs no separate file server; `max_image_bytes` keeps that bounded.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use imagesize::ImageType;

/// An accepted image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// `data:<mime>;base64,<bytes>`.
    pub url: String,
    pub mime: &'static str,
    pub width: u64,
    pub height: u64,
}

/// Why an upload was refused, in words for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused(pub String);

/// Checks `rawfile` (base64, optionally with a `data:...;base64,` prefix) of at most
/// `max_bytes` decoded bytes.
pub fn check(rawfile: &str, max_bytes: usize) -> Result<Image, Refused> {
    let encoded = match rawfile.split_once(";base64,") {
        Some((prefix, rest)) if prefix.starts_with("data:") => rest,
        _ => rawfile,
    };
    let encoded: String = encoded.split_ascii_whitespace().collect();
    // Refuse by the encoded length first, so an oversize upload is never decoded.
    if encoded.len() / 4 * 3 > max_bytes + 2 {
        return Err(too_large(max_bytes));
    }
    let bytes = STANDARD
        .decode(&encoded)
        .map_err(|_| Refused("the image is not valid base64".into()))?;
    if bytes.len() > max_bytes {
        return Err(too_large(max_bytes));
    }
    let not_an_image = || Refused("the file is not an image in a format the server accepts".into());
    let kind = imagesize::image_type(&bytes).map_err(|_| not_an_image())?;
    let size = imagesize::blob_size(&bytes).map_err(|_| not_an_image())?;
    let mime = mime(kind);
    Ok(Image {
        url: format!("data:{mime};base64,{}", STANDARD.encode(&bytes)),
        mime,
        width: size.width as u64,
        height: size.height as u64,
    })
}

fn too_large(max_bytes: usize) -> Refused {
    Refused(format!("the image is larger than {max_bytes} bytes"))
}

/// The media type browsers know each detected format by.
fn mime(kind: ImageType) -> &'static str {
    match kind {
        ImageType::Png => "image/png",
        ImageType::Jpeg => "image/jpeg",
        ImageType::Gif => "image/gif",
        ImageType::Webp => "image/webp",
        ImageType::Bmp => "image/bmp",
        ImageType::Tiff => "image/tiff",
        ImageType::Ico => "image/x-icon",
        // AVIF is a HEIF with AV1 inside; browsers take either under image/avif or image/heif.
        ImageType::Heif(imagesize::Compression::Av1) => "image/avif",
        ImageType::Heif(_) => "image/heif",
        ImageType::Jxl => "image/jxl",
        ImageType::Psd => "image/vnd.adobe.photoshop",
        ImageType::Tga => "image/x-tga",
        ImageType::Dds => "image/vnd-ms.dds",
        ImageType::Exr => "image/x-exr",
        ImageType::Hdr => "image/vnd.radiance",
        ImageType::Ktx2 => "image/ktx2",
        ImageType::Qoi => "image/qoi",
        ImageType::Farbfeld => "image/x-farbfeld",
        ImageType::Vtf => "image/x-vtf",
        ImageType::Ilbm => "image/x-ilbm",
        ImageType::Aseprite => "image/x-aseprite",
        ImageType::Pnm => "image/x-portable-anymap",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 24 bytes of a PNG: signature and the IHDR chunk's width and height, all
    /// image-size reads.
    pub fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        bytes.extend_from_slice(&[0, 0, 0, 13]);
        bytes.extend_from_slice(b"IHDR");
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&[8, 6, 0, 0, 0]);
        bytes
    }

    #[test]
    fn a_png_is_accepted_with_its_size() {
        let raw = STANDARD.encode(png_header(3, 2));
        let image = check(&raw, 1024).unwrap();
        assert_eq!((image.mime, image.width, image.height), ("image/png", 3, 2));
        assert!(image.url.starts_with("data:image/png;base64,"));
        let prefixed = format!("data:image/png;base64,{raw}");
        assert_eq!(check(&prefixed, 1024).unwrap(), image);
    }

    #[test]
    fn text_named_like_an_image_is_refused() {
        let raw = STANDARD.encode(b"just some notes, saved as cat.png");
        assert!(check(&raw, 1024).unwrap_err().0.contains("not an image"));
        assert!(check("%%% not base64", 1024).is_err());
    }

    #[test]
    fn oversize_uploads_are_refused() {
        let mut big = png_header(3, 2);
        big.resize(4096, 0);
        let raw = STANDARD.encode(&big);
        assert!(check(&raw, 1000)
            .unwrap_err()
            .0
            .contains("larger than 1000"));
        assert!(check(&raw, 4096).is_ok());
    }
}
