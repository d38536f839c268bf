"""Photos and screenshots: checked, stripped of every bit of metadata, then encrypted.

An upload is opened with Pillow, turned upright (using its EXIF orientation, before that is
dropped; when the EXIF cannot be read, the picture is kept as it is), and its *pixels only* are
put in a new image, which is saved as PNG (screenshots, anything with transparency) or JPEG
(photos). EXIF, GPS, XMP, ICC profiles, comments and thumbnails therefore never reach the
database. Anything that is not an image Pillow can read is refused. Pillow is imported on the
first upload, not by every process that loads the module.

Anyone can upload without an account, so what one upload may cost is bounded:

- memory: a picture's pixels, as decoded plus one working copy, must fit in MAX_WORKING_BYTES
  (96 MiB: 4,096 x 3,072 pixels in colour, so a 12-megapixel phone photo is kept whole). A larger
  JPEG is decoded at a half, a quarter or an eighth of its size (libjpeg scales while decoding,
  so the full size is never in memory); a larger picture in another format is refused before it
  is decoded. At most PARALLEL_CLEANS pictures are worked on at once in a process: further
  uploads wait for their turn instead of adding up.
- stored bytes: never more than the upload limit. A clean copy that comes out larger (noise
  compresses badly) is saved again at a lower JPEG quality, then at a half, a third and a
  quarter of its width and height; if even that does not fit, it is refused with the usual
  "too large" message.
"""

from __future__ import annotations

import io
import threading
import warnings

from plugins.reporting import _

ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP"}
# Many phones write a photo as a JPEG with more pictures after it (a depth map, a preview: the
# "multi-picture" format, which Pillow names MPO); its first picture is the photo, read as a JPEG.
JPEG_FORMATS = {"JPEG", "MPO"}
ACCEPT_ATTRIBUTE = "image/jpeg,image/png,image/webp,image/gif"
MAX_WORKING_BYTES = 4096 * 3072 * 8  # 96 MiB: pixels as decoded plus one working copy (Pillow keeps RGB in 4 bytes)
PARALLEL_CLEANS = 1  # pictures decoded at once in a process; a gthread worker's other uploads queue
_SLOTS = threading.BoundedSemaphore(PARALLEL_CLEANS)
# Bytes a pixel takes as decoded (modes not listed take 4), and what a format's decoder keeps
# beside them: libwebp's animation decoder, which Pillow uses, holds two canvases and hands over a
# third copy.
_DECODED_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}
_DECODER_BYTES_PER_PIXEL = {"WEBP": 12}
_JPEG_SCALES = (1, 2, 4, 8)
# Ways to save a clean picture, best first: (format, JPEG quality, width and height divided by).
_PHOTO = (("JPEG", 88, 1), ("JPEG", 75, 1), ("JPEG", 75, 2), ("JPEG", 70, 3), ("JPEG", 70, 4))
_SCREENSHOT = (("PNG", None, 1), *_PHOTO)  # sharp as a PNG when it fits, else as a photo, not smaller
_TRANSPARENT = (("PNG", None, 1), ("PNG", None, 2), ("PNG", None, 3), ("PNG", None, 4))
_ORIENTATION = 0x0112


class AttachmentError(ValueError):
    """The file cannot be accepted; the message says why, translated."""


class _TooLarge(Exception):
    """The picture being saved has grown past the limit (raised from inside Pillow's save)."""


class _BoundedBuffer(io.BytesIO):
    """A BytesIO that refuses to grow past `limit` bytes, so an oversized save stops early."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def write(self, data) -> int:
        if self.tell() + len(data) > self.limit:
            raise _TooLarge
        return super().write(data)


def _file_too_large(max_bytes: int) -> AttachmentError:
    return AttachmentError(
        _("That file is too large. Please send one under %(size)d MB.", size=max_bytes // (1024 * 1024))
    )


def _too_many_pixels() -> AttachmentError:
    return AttachmentError(_("That picture is too large. Please send a smaller one."))


def _not_a_picture() -> AttachmentError:
    return AttachmentError(_("Please send a photo or screenshot (JPEG, PNG, WebP or GIF)."))


def _working_mode(mode: str, info: dict) -> str:
    """The mode a picture is cleaned and stored in: RGBA when it has transparency, else L or RGB."""
    if mode in {"RGBA", "LA", "PA", "La", "RGBa"} or (mode == "P" and "transparency" in info):
        return "RGBA"
    return "L" if mode in {"L", "1"} else "RGB"


def _working_bytes(size: tuple[int, int], mode: str, fmt: str) -> int:
    """Memory the pixels take while a picture is cleaned: as decoded (with what the decoder keeps),
    plus one working copy (converted to RGB or RGBA, or turned upright), counted at 4 bytes a pixel."""
    decoded = _DECODED_BYTES_PER_PIXEL.get(mode, 4) + _DECODER_BYTES_PER_PIXEL.get(fmt, 0)
    return size[0] * size[1] * (max(decoded, 4) + 4)


def _jpeg_scale(size: tuple[int, int], mode: str) -> int:
    """The smallest of 1, 2, 4, 8 to divide a JPEG's size by while decoding it so that it fits
    in memory; 0 if none does."""
    width, height = size
    for scale in _JPEG_SCALES:
        if scale <= min(width, height) and \
                _working_bytes((-(-width // scale), -(-height // scale)), mode, "JPEG") <= MAX_WORKING_BYTES:
            return scale
    return 0


def _webp_size(data: bytes) -> tuple[int, int] | None:
    """A WebP file's canvas size from its first chunk's header, without decoding anything."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _orientation(image) -> int:
    """The EXIF orientation (1 to 8), or 1 when there is none or it cannot be read: phones write
    mistyped tags, and a report's picture must not be lost over metadata that is dropped anyway."""
    try:
        value = image.getexif().get(_ORIENTATION, 1)
    except Exception:  # struct.error, TypeError, ValueError...: a broken EXIF block; read no further
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def clean_image(data: bytes, max_bytes: int) -> tuple[bytes, str]:
    """Return (clean image bytes, content type) or raise AttachmentError."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise AttachmentError(_("That file is empty."))
    if len(data) > max_bytes:
        raise _file_too_large(max_bytes)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        # Pillow's WebP decoder sets up its canvases when the file is opened: check the size first.
        size = _webp_size(data)
        if size is None:
            raise _not_a_picture()
        if _working_bytes(size, "RGBA", "WEBP") > MAX_WORKING_BYTES:
            raise _too_many_pixels()
    broken = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError)
    try:
        with warnings.catch_warnings():
            # Opening reads headers only (WebP's size was checked above); the pixels are counted
            # below, which refuses what Pillow would only warn about, except a JPEG it can scale.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:  # over twice Pillow's MAX_IMAGE_PIXELS (179 megapixels)
        raise _too_many_pixels() from None
    except broken:
        raise _not_a_picture() from None
    if image.format not in ACCEPTED_FORMATS:
        raise _not_a_picture()
    if image.format in JPEG_FORMATS:
        scale = _jpeg_scale(image.size, image.mode)
    else:
        scale = 1 if _working_bytes(image.size, image.mode, image.format) <= MAX_WORKING_BYTES else 0
    if not scale:
        raise _too_many_pixels()
    try:
        with _SLOTS:  # one picture in memory at a time: parallel uploads wait instead of adding up
            return _clean(image, scale, max_bytes)
    except AttachmentError:
        raise
    except broken:
        raise _not_a_picture() from None


def _clean(image, scale: int, max_bytes: int) -> tuple[bytes, str]:
    from PIL import Image

    fmt = image.format
    if scale > 1:
        image.draft(None, (image.width // scale, image.height // scale))
    if _working_bytes(image.size, image.mode, fmt) > MAX_WORKING_BYTES:  # Pillow did not scale it
        raise _too_many_pixels()
    image.load()
    transpose = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                 4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270,
                 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}.get(_orientation(image))
    mode = _working_mode(image.mode, image.info)
    # Each step makes one new image and lets the one before go, so two are never held at once
    # beyond what _working_bytes counted.
    work = image
    if work.mode != mode:
        work = _replace(work, work.convert(mode))
    if transpose is not None:
        work = _replace(work, work.transpose(transpose))
    # A new image around the pixels only (shared, not copied): nothing of the original file's
    # metadata (its info, EXIF, ICC profile, comments, the JPEG plugin's markers) comes along.
    # Image._new is Pillow's own constructor for that (private, but in every release setup.cfg
    # allows); tests/test_reporting_attachments_limits.py checks that no metadata survives.
    clean = Image.new(mode, (0, 0))._new(work.im)
    del work, image

    attempts = _TRANSPARENT if mode == "RGBA" else (_PHOTO if fmt in JPEG_FORMATS else _SCREENSHOT)
    for out_format, quality, divisor in attempts:
        # reduce() averages boxes in one pass: no intermediate image, unlike resize().
        picture = clean if divisor == 1 else clean.reduce(divisor)
        out = _BoundedBuffer(max_bytes)
        try:
            if out_format == "JPEG":
                picture.save(out, format="JPEG", quality=quality)
            else:
                picture.save(out, format="PNG")
        except _TooLarge:
            continue
        finally:
            if picture is not clean:
                picture.close()
        return out.getvalue(), "image/jpeg" if out_format == "JPEG" else "image/png"
    raise _file_too_large(max_bytes)


def _replace(old, new):
    old.close()
    return new
