"""What one anonymous upload may cost: memory bounded (a decompression-bomb PNG, uploads at once),
stored bytes bounded (noise that grows when re-encoded), a draft's total bounded, and a photo with
broken EXIF accepted rather than a 500, with its metadata still gone."""

from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from helpers import post_form
from PIL import Image
from test_reporting_common import FORM, WHAT, _page, in_db, step, with_reporting

ROOT = Path(__file__).resolve().parent.parent
# Cleaning holds at most 96 MiB of pixels (MAX_WORKING_BYTES), plus Pillow's encoder and the output;
# before the limits one 6,300 x 6,300 PNG took about 760 MiB, one 12-megapixel photo about 220 MiB.
MEMORY_BOUND_MIB = 160


app = with_reporting  # every test here: the app with the reporting module on


def _settings(app, **values):
    from core.settings import save_settings

    with app.test_request_context(), in_db(app):
        save_settings("reporting", values)


def _upload(client, *files):
    return post_form(client, FORM, {"step": "files", "action": "upload",
                                    "files": [(io.BytesIO(data), name) for name, data in files]},
                     token_from=FORM, content_type="multipart/form-data", follow_redirects=True)


def _stored(app) -> list:
    from plugins.reporting.models import Attachment

    with in_db(app):
        return [(row.content_type, row.size, row.data) for row in Attachment.select().order_by(Attachment.id)]


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_bomb(side: int = 6300) -> bytes:
    """A PNG of `side` x `side` RGBA pixels, all transparent, in about 150 KB (made row by row)."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + side * 4)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _noise(size, mode="RGB") -> Image.Image:
    rng = random.Random(7)
    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * len(mode)))


def _exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    exif[0x010E] = "CANARY-EXIF-DESCRIPTION"  # ImageDescription
    exif[0x0110] = "CanaryPhone 12"  # Model
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 40.0)}  # GPSInfo
    return exif


def _encoded(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def _assert_clean(data: bytes):
    for canary in (b"CANARY", b"Exif", b"GPS", b"tEXt", b"iCCP", b"eXIf", b"CanaryPhone"):
        assert canary not in data, canary
    picture = Image.open(io.BytesIO(data))
    assert not picture.getexif() and "icc_profile" not in picture.info and "comment" not in picture.info
    return picture


def _peak_in_child(tmp_path, data: bytes, threads: int) -> dict:
    """Clean `data` in `threads` threads at once in a fresh Python; its added peak memory in MiB."""
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("peak memory is read from Linux's /proc")
    picture = tmp_path / "upload.bin"
    picture.write_bytes(data)
    child = textwrap.dedent("""
        import json, sys, threading
        from pathlib import Path
        sys.path.insert(0, sys.argv[3])
        from PIL import Image
        from plugins.reporting.attachments import AttachmentError, clean_image

        def high_water():
            fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
            return int(fields["VmHWM"].split()[0])

        data = Path(sys.argv[1]).read_bytes()
        results = []

        def one():
            try:
                results.append(clean_image(data, 12 * 1024 * 1024)[1])
            except AttachmentError as exc:
                results.append(str(exc))

        Path("/proc/self/clear_refs").write_text("5")  # the peak so far becomes the current size
        before = high_water()
        workers = [threading.Thread(target=one) for _ in range(int(sys.argv[2]))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        print(json.dumps({"added_mib": (high_water() - before) / 1024, "results": results}))
    """)
    run = subprocess.run([sys.executable, "-c", child, str(picture), str(threads), str(ROOT)],
                         capture_output=True, text=True, check=True, timeout=120,
                         env={**os.environ, "MALLOC_ARENA_MAX": "2"})  # as `redumbrella serve` runs gunicorn
    return json.loads(run.stdout)


@pytest.mark.slow
def test_a_decompression_bomb_png_costs_no_more_than_the_memory_bound(tmp_path):
    bomb = _png_bomb()
    assert len(bomb) < 200_000
    measured = _peak_in_child(tmp_path, bomb, threads=1)
    assert measured["added_mib"] < MEMORY_BOUND_MIB, measured


@pytest.mark.slow
def test_uploads_at_once_take_turns_instead_of_adding_up(tmp_path):
    # A 12-megapixel phone photo taken upright: kept whole, turned, four uploads of it at once.
    photo = Image.radial_gradient("L").resize((4032, 3024)).convert("RGB")
    data = _encoded(photo, "JPEG", quality=85, exif=_exif(orientation=6))
    del photo
    measured = _peak_in_child(tmp_path, data, threads=4)
    assert measured["results"] == ["image/jpeg"] * 4
    assert measured["added_mib"] < MEMORY_BOUND_MIB, measured


def test_a_decompression_bomb_png_is_refused_kindly_through_the_form(app, client):
    client.get(FORM)
    step(client, WHAT, step_code="what")
    response = _upload(client, ("bomb.png", _png_bomb()))
    assert response.status_code == 422
    assert "“bomb.png”: That picture is too large. Please send a smaller one." in _page(response)
    assert _stored(app) == []


@pytest.mark.parametrize("name", ["noise.jpg", "noise.webp", "noise.png"])
def test_a_picture_that_grows_when_cleaned_is_stored_within_the_size_limit(app, client, name):
    _settings(app, max_attachment_mb=1)
    limit = 1024 * 1024
    if name == "noise.jpg":  # quality 20, grows to 1.5 MB at quality 88
        data = _encoded(_noise((1800, 1400)), "JPEG", quality=20, subsampling=0, exif=_exif(),
                        comment=b"CANARY comment")
    elif name == "noise.webp":  # lossy WebP, 2.3 MB as a PNG
        data = _encoded(_noise((1000, 800)), "WEBP", quality=5, exif=_exif(), icc_profile=b"CANARY icc")
    else:  # one byte a pixel in, three as a PNG in RGB
        palette = _noise((1100, 800), "L").convert("P")
        palette.putpalette(list(random.Random(3).randbytes(768)))
        data = _encoded(palette, "PNG", exif=_exif(), pnginfo=_png_text())
    assert len(data) < limit
    client.get(FORM)
    step(client, WHAT, step_code="what")
    response = _upload(client, (name, data))
    assert response.status_code == 200, _page(response)[:2000]
    [(content_type, size, stored)] = _stored(app)
    assert size == len(stored) <= limit
    picture = _assert_clean(stored)
    assert content_type == "image/" + picture.format.lower()
    assert picture.width >= 400  # smaller, still a picture


def _png_text():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "CANARY text chunk")
    return info


@pytest.mark.parametrize(("wrong_type", "count"), [(5, 1), (11, None)])  # Model (text) as a RATIONAL, a FLOAT
def test_a_photo_with_a_mistyped_exif_tag_is_accepted_upright_without_its_metadata(app, client, wrong_type, count):
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, 16, 48))  # a blue band on the left, to see which way is up
    data = _with_mistyped_tag(_encoded(image, "JPEG", exif=_exif(orientation=6)), 0x0110, wrong_type, count)
    client.get(FORM)
    step(client, WHAT, step_code="what")
    response = _upload(client, ("phone.jpg", data))
    assert response.status_code == 200, _page(response)[:2000]
    assert "Picture 1" in _page(response)
    [(content_type, _size, stored)] = _stored(app)
    assert content_type == "image/jpeg"
    picture = _assert_clean(stored).convert("RGB")
    assert picture.size == (48, 64)  # orientation 6 was still read, and applied
    assert picture.getpixel((24, 5))[2] > 150 and picture.getpixel((24, 60))[0] > 150  # the band is on top


def _with_mistyped_tag(jpeg: bytes, tag: int, wrong_type: int, count: int | None) -> bytes:
    """The JPEG with one IFD0 tag's type (and count) changed in its EXIF block, as some phones write it."""
    start = jpeg.index(b"Exif\0\0") + 6
    order = "<" if jpeg[start:start + 2] == b"II" else ">"
    ifd = start + struct.unpack(order + "I", jpeg[start + 4:start + 8])[0]
    entries = struct.unpack(order + "H", jpeg[ifd:ifd + 2])[0]
    for index in range(entries):
        entry = ifd + 2 + 12 * index
        if struct.unpack(order + "H", jpeg[entry:entry + 2])[0] == tag:
            count = struct.unpack(order + "I", jpeg[entry + 4:entry + 8])[0] if count is None else count
            return jpeg[:entry + 2] + struct.pack(order + "HI", wrong_type, count) + jpeg[entry + 8:]
    raise AssertionError(f"tag {tag:#x} not found")


def test_a_drafts_pictures_together_stay_within_the_limits_after_they_are_lowered(app, client):
    _settings(app, max_attachments=5, max_attachment_mb=2)
    client.get(FORM)
    step(client, WHAT, step_code="what")
    noise = [_encoded(_noise((1100, 1100 - n), "L"), "PNG") for n in range(3)]  # about 1.2 MB each, kept so
    assert _upload(client, ("a.png", noise[0]), ("b.png", noise[1])).status_code == 200
    _settings(app, max_attachments=3, max_attachment_mb=1)  # 3 MB in all now; 2.3 MB are stored
    small = _encoded(_noise((1000, 1000), "L"), "PNG")  # 0.96 MiB: fits 1 MB alone, not the draft's 3 MB
    response = _upload(client, ("c.png", small))
    assert response.status_code == 422 and "You can add up to 3 photos or screenshots." in _page(response)
    stored = _stored(app)
    assert len(stored) == 2 and sum(size for _, size, _ in stored) <= 3 * 1024 * 1024


def test_a_phone_photo_with_more_pictures_after_it_is_taken_as_its_first(app, client):
    """Phones often write a photo as a multi-picture JPEG (MPO): the photo first, then a depth map
    or a preview. It is a photo like any other, kept without its metadata or the other pictures."""
    photo = Image.new("RGB", (64, 48), (200, 30, 30))
    depth = Image.new("RGB", (32, 24), (10, 200, 10))
    data = _encoded(photo, "MPO", save_all=True, append_images=[depth], exif=_exif())
    assert Image.open(io.BytesIO(data)).format == "MPO"
    client.get(FORM)
    step(client, WHAT, step_code="what")
    response = _upload(client, ("phone.jpg", data))
    assert response.status_code == 200, _page(response)[:2000]
    [(content_type, _size, stored)] = _stored(app)
    assert content_type == "image/jpeg"
    picture = _assert_clean(stored)
    assert picture.format == "JPEG" and picture.size == (64, 48) and getattr(picture, "n_frames", 1) == 1
    assert picture.convert("RGB").getpixel((32, 24))[0] > 150  # the photo, not the depth map


def test_unsent_reports_pictures_have_a_ceiling_for_the_whole_site(app, client):
    """Anyone can start a report: drafts never sent must not fill the disk before they expire. At
    the ceiling a picture is refused with a message that says the report can still go without it."""
    import datetime

    from core.db import utcnow
    from plugins.reporting.models import Attachment, Draft

    _settings(app, draft_pictures_mb=10)
    with in_db(app):  # someone else's unsent reports already hold the 10 MB
        other = Draft.create(key_hash="f" * 64, expires_at=utcnow() + datetime.timedelta(hours=3))
        for _n in range(20):
            Attachment.create(draft=other, content_type="image/png", size=512 * 1024, data=b"x")
    client.get(FORM)
    step(client, WHAT, step_code="what")
    picture = _encoded(_noise((300, 300)), "JPEG", quality=95)
    response = _upload(client, ("a.jpg", picture))
    assert response.status_code == 422, _page(response)[:2000]
    assert "We cannot take more pictures just now. You can send your report without them" in _page(response)
    assert len(_stored(app)) == 20  # nothing of this visitor's was kept

    _settings(app, draft_pictures_mb=20)  # an administrator raises it: the same picture goes in
    response = _upload(client, ("a.jpg", picture))
    assert response.status_code == 200 and "Picture 1" in _page(response)


def test_pictures_refused_at_the_ceiling_leave_the_forms_key_unclaimed(app, client):
    """A send that stores nothing (the site's ceiling for unsent reports' pictures is reached) must
    not use up the form's one-time key: a reload is refused the same way, not told "already added",
    and once there is room the same form stores the picture."""
    import datetime

    from core import once
    from core.db import utcnow
    from plugins.reporting.models import Attachment, Draft

    _settings(app, draft_pictures_mb=10)
    with in_db(app):
        other = Draft.create(key_hash="e" * 64, expires_at=utcnow() + datetime.timedelta(hours=3))
        for _n in range(20):
            Attachment.create(draft=other, content_type="image/png", size=512 * 1024, data=b"x")
    client.get(FORM)
    step(client, WHAT, step_code="what")
    key = once.new_key()
    picture = _encoded(_noise((300, 300)), "JPEG", quality=95)

    def send():
        return post_form(client, FORM, {"step": "files", "action": "upload", "form_key": key,
                                        "files": [(io.BytesIO(picture), "a.jpg")]},
                         token_from=FORM, content_type="multipart/form-data", follow_redirects=True)

    for _attempt in range(2):  # the first send, then its reload
        refused = send()
        assert refused.status_code == 422, _page(refused)[:2000]
        assert "We cannot take more pictures just now" in _page(refused)
        assert "already added" not in _page(refused)
    assert len(_stored(app)) == 20

    _settings(app, draft_pictures_mb=20)
    stored = send()
    assert stored.status_code == 200 and "Picture 1" in _page(stored)
    assert len(_stored(app)) == 21
    again = send()  # now it was stored: a reload stores nothing more
    assert "These pictures were already added" in _page(again) and len(_stored(app)) == 21
