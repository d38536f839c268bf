"""A certificate as a PDF file (fpdf2), with a QR code (segno) leading to its public page.

The text is the certificate's own fields, in the language of the request. fpdf2's built-in fonts
cover Latin-1 only, so a Unicode font is used when the machine has one (DejaVu Sans, Debian's
`fonts-dejavu-core`);
without one, letters outside Latin-1 are written without their accents (ș as s) and anything else
as "?". The printable page and the public page always show the name exactly as entered.
"""

from __future__ import annotations

import io
import json
import unicodedata
from pathlib import Path

import segno
from flask_babel import format_date
from fpdf import FPDF

from plugins.training import _

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


def _font_file() -> Path | None:
    for candidate in FONT_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path
    return None


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
    font = _font_file()
    if font is not None:
        pdf.add_font("body", "", str(font))
        family, text = "body", (lambda value: value)
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
