"""A certificate as a PDF file (fpdf2), with a QR code (segno) leading to its public page.

The text is the certificate's own fields, in the language of the request, and the learner's name
may be in any script. fpdf2's built-in fonts cover Latin-1 only, so the PDF uses the Unicode fonts
the machine has, one after another for what the first lacks: DejaVu Sans or Noto Sans (Latin,
Cyrillic, Greek), Noto Sans Arabic, Noto Sans Thai and Noto Sans CJK SC (Debian's
`fonts-dejavu-core`, `fonts-noto-core` and `fonts-noto-cjk`; docs/deployment.md). Arabic and Thai
are shaped and laid out right to left where needed by HarfBuzz (uharfbuzz). A letter no font has
is written without its accent (ș as s) or as "?", never dropped silently; the printable page and
the public page always show the name exactly as entered.
"""

from __future__ import annotations

import functools
import io
import json
import unicodedata
from pathlib import Path

import segno
from flask_babel import format_date
from fpdf import FPDF

from plugins.training import _

# (family, candidate files, index in a font collection): the order is the order of preference.
FONTS = (
    ("dejavu", ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/TTF/DejaVuSans.ttf"), 0),
    ("noto", ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",), 0),
    ("noto-arabic", ("/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",), 0),
    ("noto-thai", ("/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf",), 0),
    ("noto-cjk", ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",), 2),  # 2: Simplified Chinese
)


@functools.cache
def available_fonts() -> tuple[tuple[str, str, int], ...]:
    """(family, file, collection index) of each font this machine has."""
    found = []
    for family, candidates, index in FONTS:
        path = next((c for c in candidates if Path(c).is_file()), None)
        if path:
            found.append((family, path, index))
    return tuple(found)


@functools.cache
def _characters(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap())


def drawable(text: str) -> str:
    """The text with every character some available font has; the others as latin1() gives them."""
    fonts = available_fonts()
    if not fonts:
        return latin1(text)
    known = [_characters(path, index) for _family, path, index in fonts]
    return "".join(char if char.isspace() or any(ord(char) in chars for chars in known) else latin1(char)
                   for char in text)


def _shaping_available() -> bool:
    try:
        import uharfbuzz  # noqa: F401
    except ImportError:
        return False
    return True


def latin1(text: str) -> str:
    """Text the built-in fonts can draw: accents dropped where that gives Latin-1, else "?"."""
    out = []
    for char in text:
        try:
            char.encode("latin-1")
            out.append(char)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            try:
                base.encode("latin-1")
                out.append(base or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def render(certificate, status_text: str = "") -> bytes:
    """The PDF of a signed certificate (A4, landscape)."""
    body = json.loads(certificate.payload)
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(_("Certificate of completion"))
    pdf.set_creator(body["issuer"])
    pdf.set_auto_page_break(False)
    pdf.add_page()
    fonts = available_fonts()
    if fonts:
        for name, path, index in fonts:
            pdf.add_font(name, "", path, collection_font_number=index)
        pdf.set_fallback_fonts([name for name, _path, _index in fonts[1:]])
        if _shaping_available():
            pdf.set_text_shaping(True)  # joined Arabic letters, Thai marks, right-to-left lines
        family, text = fonts[0][0], drawable
    else:
        family, text = "helvetica", latin1

    def line(value: str, size: int, height: float, gap: float = 0) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, height, text(value), align="C", new_x="LMARGIN", new_y="NEXT")
        if gap:
            pdf.ln(gap)

    pdf.set_draw_color(90, 90, 90)
    pdf.rect(10, 10, 277, 190)
    pdf.set_y(24)
    line(body["issuer"], 14, 8, 6)
    line(_("Certificate of completion"), 28, 14, 8)
    line(_("This certifies that"), 13, 7, 2)
    line(body["learner_name"], 24, 12, 4)
    line(_("completed the course"), 13, 7, 2)
    line(body["course"], 18, 10, 6)
    details = [_("Completed on %(date)s", date=format_date(certificate.issued_on, "long"))]
    if body["hours"]:
        details.append(_("Hours of training: %(hours)s", hours=body["hours"]))
    if body["trainers"]:
        details.append(_("Trainers: %(names)s", names=", ".join(body["trainers"])))
    if certificate.expires_on:
        details.append(_("Valid until %(date)s", date=format_date(certificate.expires_on, "long")))
    for detail in details:
        line(detail, 12, 7)
    if status_text:
        pdf.ln(2)
        line(status_text, 13, 7)

    pdf.image(io.BytesIO(qr_png(body["verify_url"])), x=238, y=150, w=40, h=40)
    pdf.set_xy(18, 160)
    pdf.set_font(family, size=10)
    width = 210
    pdf.multi_cell(width, 5, text(_("Certificate code: %(code)s", code=body["code"])), new_x="LMARGIN",
                   new_y="NEXT")
    pdf.set_x(18)
    pdf.multi_cell(width, 5, text(_("Check that it is genuine: scan the code or visit %(url)s",
                                    url=body["verify_url"])), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
