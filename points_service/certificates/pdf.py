"""The certificate as an A4 PDF, drawn with reportlab in the reader's language.

Chinese text uses the shared embedded font (``points_service.pdf_fonts``).
"""

from io import BytesIO

import segno
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from ..extensions import db
from ..organizations.models import Organization
from ..pdf_fonts import cjk_font
from ..rules.service import category_label


def hours_text(minutes):
    hours, rest = divmod(int(minutes), 60)
    if rest:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=rest)
    return _("%(hours)s h", hours=hours)


def issuer_path(organization):
    """'City / District / Community': the issuer with the nodes above it."""
    ids = organization.ancestor_ids or [organization.id]
    names = dict(
        db.session.execute(db.select(Organization.id, Organization.name).where(Organization.id.in_(ids))).all()
    )
    return " / ".join(names[i] for i in ids if i in names)


def render_certificate(certificate, *, volunteer_name, verify_url, day_text):
    """PDF bytes of ``certificate``; ``day_text`` formats a date in the reader's language."""
    font = cjk_font()
    buffer = BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    page.setTitle(_("Volunteer service certificate") + " " + certificate.number)
    page.setAuthor(certificate.organization.name)
    width, height = A4
    left, right = 22 * mm, width - 22 * mm
    y = height - 30 * mm

    def line(text, size=11, x=left, gap=6.5 * mm):
        nonlocal y
        page.setFont(font, size)
        page.drawString(x, y, text)
        y -= gap

    def heading(text):
        nonlocal y
        y -= 2 * mm
        page.setFont(font, 12.5)
        page.drawString(left, y, text)
        page.setLineWidth(0.6)
        page.line(left, y - 2 * mm, right, y - 2 * mm)
        y -= 9 * mm

    page.setFont(font, 20)
    page.drawCentredString(width / 2, y, _("Volunteer service certificate"))
    y -= 8 * mm
    page.setFont(font, 10)
    page.drawCentredString(
        width / 2,
        y,
        _("No. %(number)s · issued %(day)s", number=certificate.number, day=day_text(certificate.issued_at)),
    )
    y -= 12 * mm

    heading(_("Volunteer"))
    line(_("Name: %(name)s", name=volunteer_name))
    line(_("Member number: %(number)s", number=certificate.volunteer.member_no))

    heading(_("Service"))
    line(
        _(
            "Period: %(start)s to %(end)s",
            start=certificate.period_start.isoformat(),
            end=certificate.period_end.isoformat(),
        )
    )
    line(
        _(
            "Verified service: %(hours)s in %(count)s records",
            hours=hours_text(certificate.total_minutes),
            count=certificate.record_count,
        )
    )
    line(
        _(
            "First and last service: %(first)s, %(last)s",
            first=certificate.first_service_on.isoformat(),
            last=certificate.last_service_on.isoformat(),
        )
    )
    y -= 1 * mm
    page.setFont(font, 10)
    page.drawString(left + 4 * mm, y, _("Kind of service"))
    page.drawRightString(right - 40 * mm, y, _("Hours"))
    page.drawRightString(right - 4 * mm, y, _("Records"))
    y -= 6 * mm
    for category in certificate.categories[:12]:
        page.setFont(font, 10.5)
        page.drawString(left + 4 * mm, y, category_label(category["category"])[:40])
        page.drawRightString(right - 40 * mm, y, hours_text(category["minutes"]))
        page.drawRightString(right - 4 * mm, y, str(category["records"]))
        y -= 6 * mm
    if len(certificate.categories) > 12:
        line(_("and %(count)s more kinds of service", count=len(certificate.categories) - 12), size=10, x=left + 4 * mm)

    heading(_("Issuer"))
    line(_("Organization: %(name)s", name=issuer_path(certificate.organization)))
    line(_("Recorded and verified by the organizations that organized the service."), size=10)
    line(_("Person in charge: ____________   Seal:"), size=11, gap=14 * mm)

    heading(_("Verification"))
    qr_size = 32 * mm
    qr = BytesIO()
    segno.make(verify_url, error="m").save(qr, kind="png", scale=6, border=1)
    qr.seek(0)
    page.drawImage(ImageReader(qr), right - qr_size, y - qr_size + 6 * mm, qr_size, qr_size)
    line(_("Verification code: %(code)s", code=certificate.verification_code))
    line(_("Check it at: %(url)s", url=verify_url), size=9)
    line(_("It can be checked with this code only, not by name or ID number."), size=9)
    if certificate.revoked_at is not None:
        page.setFont(font, 28)
        page.setFillColorRGB(0.75, 0.05, 0.1)
        page.drawCentredString(width / 2, height / 2, _("REVOKED"))
    page.showPage()
    page.save()
    return buffer.getvalue()
