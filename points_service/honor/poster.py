"""A published honor roll as a printable A4 poster, drawn with reportlab in the reader's language.

It shows exactly what the public page shows: the title, the period, the organization and
the lines of ``public_entries`` (names as the roll shows them; anyone who opted out of
public lists since publication is left out). Chinese text uses the shared embedded font.
"""

from datetime import timedelta
from io import BytesIO

from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from ..certificates.pdf import hours_text
from ..pdf_fonts import cjk_font
from .service import honor_roll_title, next_period_start, public_entries

ROW_GAP = 8.5 * mm
MARGIN = 20 * mm


def value_text(roll, value):
    """An entry's figure as the public page shows it: hours and minutes, or points."""
    if roll.metric == "hours":
        return hours_text(value)
    return _("%(points)s points", points=value)


def _fit(text, font, size, width):
    """``text`` cut to ``width`` points, with an ellipsis when it had to be cut."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def render_honor_poster(roll):
    """PDF bytes of the published ``roll`` as an A4 poster (more pages for a long roll)."""
    font = cjk_font()
    entries = public_entries(roll)
    title = honor_roll_title(roll)
    last_day = next_period_start(roll.period_kind, roll.period_start) - timedelta(days=1)
    period = _("Period: %(start)s to %(end)s", start=roll.period_start.isoformat(), end=last_day.isoformat())
    buffer = BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    page.setTitle(title)
    page.setAuthor(roll.organization.name)
    width, height = A4
    left, right = MARGIN, width - MARGIN
    columns = (left + 4 * mm, left + 22 * mm, left + 82 * mm, right - 4 * mm)

    def table_head(y):
        page.setFont(font, 11)
        page.setFillColorRGB(0.35, 0.35, 0.35)
        page.drawString(columns[0], y, _("Rank"))
        page.drawString(columns[1], y, _("Volunteer"))
        page.drawString(columns[2], y, _("Community"))
        page.drawRightString(columns[3], y, _("Hours") if roll.metric == "hours" else _("Points"))
        page.setFillColorRGB(0, 0, 0)
        page.setLineWidth(0.6)
        page.line(left, y - 3 * mm, right, y - 3 * mm)
        return y - 10 * mm

    y = height - 32 * mm
    page.setFont(font, 26)
    page.drawCentredString(width / 2, y, _("Honor roll"))
    y -= 13 * mm
    page.setFont(font, 15)
    page.drawCentredString(width / 2, y, _fit(title, font, 15, right - left))
    y -= 9 * mm
    page.setFont(font, 11)
    page.drawCentredString(width / 2, y, period)
    y -= 14 * mm
    y = table_head(y)
    for entry in entries:
        if y < MARGIN + 15 * mm:
            page.showPage()
            y = table_head(height - MARGIN - 10 * mm)
        size = 15 if entry.rank <= 3 else 12.5
        page.setFont(font, size)
        page.drawString(columns[0], y, str(entry.rank))
        page.drawString(columns[1], y, _fit(entry.display_name, font, size, columns[2] - columns[1] - 4 * mm))
        page.setFont(font, 11)
        page.drawString(columns[2], y, _fit(entry.home_community, font, 11, 58 * mm))
        page.setFont(font, size)
        page.drawRightString(columns[3], y, value_text(roll, entry.value))
        y -= ROW_GAP
    if not entries:
        page.setFont(font, 12)
        page.drawCentredString(width / 2, y, _("Nobody had approved service in this period."))
    page.setFont(font, 9)
    page.setFillColorRGB(0.35, 0.35, 0.35)
    page.drawString(
        left,
        MARGIN - 6 * mm,
        _fit(
            _("Counts approved service only. Volunteers who asked not to be listed are left out."),
            font,
            9,
            right - left,
        ),
    )
    page.showPage()
    page.save()
    return buffer.getvalue()
