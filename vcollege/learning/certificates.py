"""The certificate of a completion as a one-page PDF (reportlab), with a QR code that opens
the public verification page.

The page shows the learner's name, the course title in the learner's language, the date,
the study hours, the result (score, or "waived"), the verification code and the address to
check it. Labels arrive translated (`CertificateText`), so this module knows nothing of
requests or locales. Text is set in DejaVu Sans when the system has it (Latin, Greek,
Cyrillic, Armenian, Georgian, Hebrew, Arabic), else in reportlab's bundled Vera (Latin only).

Scripts, and what the certificate does with them:
- right-to-left names (Arabic, Persian, Urdu, Hebrew) are drawn as they are written: Arabic
  letters take their joined forms (arabic-reshaper) and the line is put in drawing order
  (python-bidi, the Unicode bidirectional algorithm); the PDF's text layer then holds those
  presentation forms in visual order, which is what a reader copies;
- a name the embedded font cannot draw at all (Chinese, Japanese, Korean, Devanagari,
  Thai...: DejaVu has no glyphs for them, and fonts that do weigh tens of megabytes) is not
  transliterated nor drawn as empty boxes: in its place the certificate prints a note that
  the name is on the verification page, under the verification code printed large, and the
  name itself is kept, exact, in the PDF's metadata (title, subject, keywords) -- the
  verification page shows it as recorded. The same holds for a course title, which then
  falls back to its English title.
"""

from __future__ import annotations

import io
import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import arabic_reshaper
from bidi import get_display
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
)
GREEN = colors.HexColor("#1f5f3f")


@lru_cache(maxsize=1)
def fonts() -> tuple[str, str]:
    """(regular, bold) font names registered with reportlab."""
    for regular, bold in FONT_CANDIDATES:
        if os.path.exists(regular) and os.path.exists(bold):
            pdfmetrics.registerFont(TTFont("CertSans", regular))
            pdfmetrics.registerFont(TTFont("CertSans-Bold", bold))
            return "CertSans", "CertSans-Bold"
    pdfmetrics.registerFont(TTFont("CertVera", "Vera.ttf"))
    pdfmetrics.registerFont(TTFont("CertVera-Bold", "VeraBd.ttf"))
    return "CertVera", "CertVera-Bold"


@dataclass(frozen=True)
class CertificateText:
    """Everything printed on a certificate, already in the learner's language."""

    college: str
    heading: str
    certifies: str
    name: str
    completed: str
    course_title: str
    details: str  # date and hours
    result: str  # "Final score: 85%" or "Completed by waiver"
    waived_note: str | None
    code_label: str
    code: str
    verify_label: str
    verify_url: str
    revoked_note: str | None = None
    language: str = "en"
    name_elsewhere: str = "The holder's name, in a script this certificate cannot print, is shown on the verification page."
    course_title_fallback: str | None = None  # the English title, when the font cannot draw the title


@lru_cache(maxsize=1)
def _reshaper() -> arabic_reshaper.ArabicReshaper:
    """Letters joined, lam-alef included; no whole-word ligatures (a name is written out)."""
    words = {key: False for key in arabic_reshaper.reshaper_config.default_config
             if key.startswith("ARABIC LIGATURE") and "LAM WITH ALEF" not in key}
    return arabic_reshaper.ArabicReshaper(configuration={**words, "RIAL SIGN": False})


def _visual(text: str) -> str:
    """`text` in the order and letter forms a PDF draws: right-to-left runs reversed and
    Arabic letters joined; other text as it is."""
    if not any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text):
        return text
    return get_display(_reshaper().reshape(text))


def drawable(text: str, font: str) -> bool:
    """The registered font has a glyph for every character of `text` (spaces aside)."""
    glyphs = pdfmetrics.getFont(font).face.charToGlyph
    return all(ord(ch) in glyphs for ch in text if not ch.isspace())


def _fit(c: canvas.Canvas, text: str, font: str, size: float, width: float) -> float:
    """The font size (at most `size`) at which `text` fits in `width`."""
    while size > 8 and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _centered(c: canvas.Canvas, text: str, y: float, font: str, size: float, width: float, color=colors.black) -> None:
    size = _fit(c, text, font, size, width)
    c.setFont(font, size)
    c.setFillColor(color)
    c.drawCentredString(A4[1] / 2, y, text)


def render_certificate(text: CertificateText) -> bytes:
    """The certificate as PDF bytes."""
    regular, bold = fonts()
    buffer = io.BytesIO()
    width, height = landscape(A4)
    c = canvas.Canvas(buffer, pagesize=(width, height), pageCompression=1, lang=text.language)
    # The metadata keep the name and title exactly as recorded, whatever the page can draw.
    c.setTitle(f"{text.heading} — {text.name}")
    c.setAuthor(text.college)
    c.setSubject(f"{text.name} — {text.course_title} — {text.code}")
    c.setKeywords([text.name, text.code, text.verify_url])
    c.setCreator("vcollege")
    name = _visual(text.name)
    name_printable = drawable(name, bold)
    course_title = _visual(text.course_title)
    if not drawable(course_title, bold) and text.course_title_fallback:
        course_title = text.course_title_fallback

    c.setStrokeColor(GREEN)
    c.setLineWidth(3)
    c.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    c.setLineWidth(0.8)
    c.rect(16 * mm, 16 * mm, width - 32 * mm, height - 32 * mm)

    usable = width - 60 * mm
    _centered(c, text.college, height - 40 * mm, bold, 16, usable, GREEN)
    _centered(c, text.heading, height - 62 * mm, bold, 30, usable)
    _centered(c, text.certifies, height - 80 * mm, regular, 13, usable)
    if name_printable:
        _centered(c, name, height - 96 * mm, bold, 26, usable)
    else:
        _centered(c, text.code, height - 94 * mm, bold, 26, usable)
        _centered(c, text.name_elsewhere, height - 101 * mm, regular, 9, usable)
    _centered(c, text.completed, height - 112 * mm, regular, 13, usable)
    _centered(c, course_title, height - 127 * mm, bold, 20, usable, GREEN)
    _centered(c, text.details, height - 142 * mm, regular, 12, usable)
    _centered(c, text.result, height - 152 * mm, regular, 12, usable)
    if text.waived_note:
        _centered(c, text.waived_note, height - 161 * mm, regular, 10, usable)
    if text.revoked_note:
        _centered(c, text.revoked_note, 62 * mm, bold, 14, usable, colors.red)

    qr_size = 34 * mm
    widget = QrCodeWidget(text.verify_url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(qr_size, qr_size, transform=[qr_size / (x1 - x0), 0, 0, qr_size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, c, width - 24 * mm - qr_size, 22 * mm)

    c.setFillColor(colors.black)
    c.setFont(regular, 10)
    c.drawString(26 * mm, 38 * mm, f"{text.code_label}: ")
    c.setFont(bold, 12)
    c.drawString(26 * mm + pdfmetrics.stringWidth(f"{text.code_label}: ", regular, 10), 38 * mm, text.code)
    c.setFont(regular, 9)
    c.drawString(26 * mm, 31 * mm, text.verify_label)
    c.setFillColor(GREEN)
    c.drawString(26 * mm, 26 * mm, text.verify_url)
    c.linkURL(text.verify_url, (26 * mm, 24 * mm, 26 * mm + pdfmetrics.stringWidth(text.verify_url, regular, 9), 30 * mm))
    c.showPage()
    c.save()
    return buffer.getvalue()
