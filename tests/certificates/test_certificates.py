"""Service certificates: what they certify, the public check by code, revocation."""

import shutil
import subprocess
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from points_service.accounts.service import mask_name
from points_service.audit.models import AuditEvent
from points_service.certificates import service as certificates
from points_service.certificates.models import ServiceCertificate
from points_service.errors import NotFound, PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.timeutil import to_utc
from tests.builders import PASSWORD

SHANGHAI = "Asia/Shanghai"
NOW = datetime(2026, 11, 20, 4, 0)  # 12:00 in Shanghai


def local(year, month, day, hour=9, minute=0):
    return to_utc(datetime(year, month, day, hour, minute), SHANGHAI)


@pytest.fixture
def volunteer(build):
    return build.volunteer(name="王小明")


@pytest.fixture
def history(build, volunteer):
    """Approved: 90 min care and 60 min patrol in October, 30 min care on 1 Nov 00:30 local;
    pending 60 min and rejected nothing: only approved service counts."""
    build.approved_record(volunteer, started_at=local(2026, 10, 3), minutes=90)
    build.approved_record(volunteer, started_at=local(2026, 10, 10), minutes=60, category="patrol")
    build.approved_record(volunteer, started_at=local(2026, 11, 1, 0, 30), minutes=30)
    build.record(volunteer, started_at=local(2026, 10, 20), minutes=60)
    return volunteer


def test_a_certificate_counts_approved_hours_per_category_within_local_days(build, history):
    certificate = certificates.issue_certificate(history, date(2026, 10, 1), date(2026, 10, 31), now=NOW)

    assert certificate.total_minutes == 150 and certificate.record_count == 2
    assert certificate.categories == [
        {"category": "elderly_care", "minutes": 90, "records": 1},
        {"category": "patrol", "minutes": 60, "records": 1},
    ]
    assert (certificate.first_service_on, certificate.last_service_on) == (date(2026, 10, 3), date(2026, 10, 10))
    assert certificate.number == f"20261120-{certificate.id:06d}"
    # 00:30 on 1 November in Shanghai is 31 October in UTC, yet it belongs to November.
    november = certificates.issue_certificate(history, date(2026, 11, 1), date(2026, 11, 20), now=NOW)
    assert november.total_minutes == 30


def test_asking_again_for_the_same_period_gives_the_same_certificate(build, history):
    first = certificates.issue_certificate(history, date(2026, 10, 1), date(2026, 10, 31), now=NOW)
    again = certificates.issue_certificate(history, date(2026, 10, 1), date(2026, 10, 31), now=NOW)
    assert again.id == first.id


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (date(2026, 10, 1), date(2026, 11, 21), "period_end"),  # tomorrow in Shanghai
        (date(2026, 10, 31), date(2026, 10, 1), "period_end"),
        (date(1900, 1, 1), date(2026, 10, 31), "period_start"),
        (date(2001, 1, 1), date(2026, 10, 31), "period_start"),  # more than ten years
        (None, date(2026, 10, 31), "period_start"),
    ],
)
def test_impossible_periods_are_refused_with_the_field_named(build, history, start, end, field):
    with pytest.raises(ValidationError) as refused:
        certificates.issue_certificate(history, start, end, now=NOW)
    assert refused.value.details["field"] == field
    assert db.session.execute(select(func.count(ServiceCertificate.id))).scalar_one() == 0


def test_a_period_without_verified_service_is_refused(build, history):
    with pytest.raises(certificates.NoVerifiedService):
        certificates.issue_certificate(history, date(2026, 9, 1), date(2026, 9, 30), now=NOW)


def test_staff_without_a_volunteer_profile_cannot_ask(build):
    with pytest.raises(PermissionDenied):
        certificates.issue_certificate(build.staff("organizer"), date(2026, 10, 1), date(2026, 10, 31), now=NOW)


def test_the_public_check_finds_a_certificate_by_code_only_and_masks_the_name(build, history):
    certificate = certificates.issue_certificate(history, date(2026, 10, 1), date(2026, 10, 31), now=NOW)
    code = certificate.verification_code

    found = certificates.verify_certificate(f" {code[:6].lower()}-{code[6:]} ")
    assert found.certificate.id == certificate.id and not found.revoked
    assert found.masked_name == mask_name("王小明") != "王小明"
    assert certificates.verify_certificate(code[:-1] + ("0" if code[-1] != "0" else "1")) is None
    assert certificates.verify_certificate("王小明") is None
    assert certificates.verify_certificate("C" + "A" * 5000) is None


def test_an_admin_of_the_issuer_revokes_with_a_reason_and_outsiders_cannot(build, history):
    certificate = certificates.issue_certificate(history, date(2026, 10, 1), date(2026, 10, 31), now=NOW)
    outsider = build.staff("admin", build.tree()["communities"][3])
    organizer = build.staff("organizer")
    admin = build.staff("admin", build.tree()["city"])

    for person in (outsider, organizer):
        with pytest.raises(NotFound):
            certificates.revoke_certificate(person, certificate.id, "issued in error")
    with pytest.raises(ValidationError):
        certificates.revoke_certificate(admin, certificate.id, "  ")
    assert certificates.verify_certificate(certificate.verification_code).revoked is False

    certificates.revoke_certificate(admin, certificate.id, "The hours were reversed.")

    assert certificates.verify_certificate(certificate.verification_code).revoked is True
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "certificate.revoke")).scalar_one()
    assert event.actor_id == admin.id and event.after["reason"] == "The hours were reversed."
    # A new certificate for the same period can be issued after a revocation.
    again = certificates.issue_certificate(history, date(2026, 10, 1), date(2026, 10, 31), now=NOW)
    assert again.id != certificate.id


# -- through the pages -------------------------------------------------------------------


def test_a_volunteer_downloads_a_pdf_whose_text_has_the_chinese_name_and_the_hours(client, build, auth, history):
    auth.login(history.mobile, PASSWORD)
    today = date.today()
    page = client.post(
        "/me/certificates",
        data={"period_start": "2026-10-01", "period_end": today.isoformat()},
        follow_redirects=True,
        headers={"Accept-Language": "zh-CN"},
    )
    assert page.status_code == 200
    certificate = db.session.execute(select(ServiceCertificate)).scalar_one()
    pdf = client.get(f"/me/certificates/{certificate.id}.pdf", headers={"Accept-Language": "zh-CN"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert shutil.which("pdftotext"), "pdftotext comes from poppler-utils, which make install installs"
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout.decode()
    assert "王小明" in text and "3 小时" in text and certificate.verification_code in text


def test_another_volunteer_cannot_download_my_certificate(client, build, auth, history):
    certificate = certificates.issue_certificate(history, date(2026, 10, 1), date(2026, 10, 31), now=NOW)
    other = build.volunteer(name="李四", mobile="13900000001")
    auth.login(other.mobile, PASSWORD)
    assert client.get(f"/me/certificates/{certificate.id}.pdf").status_code == 404


def test_a_form_error_is_shown_next_to_the_field(client, build, auth, history):
    auth.login(history.mobile, PASSWORD)
    future = (date.today() + timedelta(days=3)).isoformat()
    page = client.post("/me/certificates", data={"period_start": "2026-10-01", "period_end": future})
    assert page.status_code == 200 and "cannot end in the future" in page.get_data(as_text=True)
    assert db.session.execute(select(func.count(ServiceCertificate.id))).scalar_one() == 0


def test_the_check_page_shows_the_masked_name_and_figures_and_nothing_more(client, build, history):
    certificate = certificates.issue_certificate(history, date(2026, 10, 1), date(2026, 10, 31), now=NOW)
    page = client.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    assert "This certificate is genuine." in page and mask_name("王小明") in page and "2 h 30 min" in page
    assert "王小明" not in page and history.volunteer.member_no not in page and history.mobile not in page


@pytest.mark.parametrize("code", ["nonsense", "C" + "0" * 17, "C%0A" * 10, "x" * 300])
def test_an_unknown_or_malformed_code_gets_a_clear_page_not_an_error(client, code):
    page = client.get(f"/verify/{code}")
    assert page.status_code == 404 and "No certificate has this code" in page.get_data(as_text=True)


def test_an_admin_revokes_from_the_desk_and_the_check_page_says_so(client, build, auth, history):
    certificate = certificates.issue_certificate(history, date(2026, 10, 1), date(2026, 10, 31), now=NOW)
    admin = build.staff("admin", build.tree()["city"])
    auth.login(admin.username, PASSWORD)
    found = client.get("/admin/certificates", query_string={"number": certificate.number}).get_data(as_text=True)
    assert "Revoke the certificate" in found
    client.post(f"/admin/certificates/{certificate.id}/revoke", data={"reason": "Issued in error."})
    page = client.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    assert "was revoked on" in page and "genuine" not in page
