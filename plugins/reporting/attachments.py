"""Photos and screenshots: checked, stripped of every bit of metadata, then encrypted.

An upload is opened with Pillow, turned upright (using its EXIF orientation, before that is
dropped), and its *pixels only* are copied into a new image, which is saved as PNG (screenshots,
anything with transparency) or JPEG (photos). EXIF, GPS, XMP, ICC profiles, comments and thumbnails
therefore never reach the database. Anything that is not an image Pillow can read is refused.
Pillow is imported on the first upload, not by every process that loads the module.
"""

from __future__ import annotations

import io
import warnings

from plugins.reporting import _

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP"}
MAX_PIXELS = 40_000_000  # about 7,000 x 5,700: more than any phone camera, less than a decompression bomb
ACCEPT_ATTRIBUTE = "image/jpeg,image/png,image/webp,image/gif"


class AttachmentError(ValueError):
    """The file cannot be accepted; the message says why, translated."""


def clean_image(data: bytes, max_bytes: int) -> tuple[bytes, str]:
    """Return (clean image bytes, content type) or raise AttachmentError."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise AttachmentError(_("That file is empty."))
    if len(data) > max_bytes:
        raise AttachmentError(
            _("That file is too large. Please send one under %(size)d MB.", size=max_bytes // (1024 * 1024))
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise AttachmentError(_("Please send a photo or screenshot (JPEG, PNG, WebP or GIF)."))
            if image.width * image.height > MAX_PIXELS:
                raise AttachmentError(_("That picture is too large. Please send a smaller one."))
            image.load()
            upright = ImageOps.exif_transpose(image)
    except AttachmentError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError,
            ValueError, SyntaxError):
        raise AttachmentError(_("Please send a photo or screenshot (JPEG, PNG, WebP or GIF).")) from None

    keep_alpha = upright.mode in {"RGBA", "LA", "PA"} or (upright.mode == "P" and "transparency" in upright.info)
    photo = image.format == "JPEG" and not keep_alpha
    mode = "RGBA" if keep_alpha else ("L" if upright.mode in {"L", "1"} else "RGB")
    converted = upright.convert(mode)
    # A new image from the raw pixels: nothing of the original file's metadata comes along.
    clean = Image.frombytes(mode, converted.size, converted.tobytes())
    out = io.BytesIO()
    if photo:
        clean.save(out, format="JPEG", quality=88, optimize=True)
        return out.getvalue(), "image/jpeg"
    clean.save(out, format="PNG", optimize=True)
    return out.getvalue(), "image/png"
