"""What the administrator's desk asks of the perks domain: typed money, the validity window,
a stale edit refused, stock adjustments with their reason, pictures checked and re-encoded."""

import io
import struct
import zlib
from datetime import date, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from points_service.audit.models import AuditEvent
from points_service.errors import Conflict, PointsError, ValidationError
from points_service.extensions import db
from points_service.perks import pictures
from points_service.perks import service as perks
from points_service.perks.errors import NotEligible, PerkNotFound
from points_service.perks.models import Perk, PerkStockAdjustment
from tests.builders.perks import redeem_with_code, request_key, stars
from tests.perks.helpers import count_redemptions


@pytest.fixture
def app_config(tmp_path):
    return {"PERK_PICTURE_DIR": str(tmp_path / "pictures")}


@pytest.fixture
def picture_dir(app):
    return pictures.picture_directory()


@pytest.fixture
def admin(build, district):
    return build.staff("admin", district)


@pytest.fixture
def perk(build, district):
    return build.perk(organization=district, venues=[district], points_cost=5, stock=10)


def _stored_files(directory):
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


def _audit(action):
    return db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


# -- money and dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "minor_units"),
    [("5", 500), ("1.5", 150), ("1.50", 150), ("0.05", 5), ("¥5.00", 500), ("１.５", 150), ("", 0), (" 12 ", 1200)],
)
def test_a_co_payment_typed_in_yuan_becomes_exact_minor_units(typed, minor_units):
    assert perks.parse_copay(typed) == minor_units


@pytest.mark.parametrize("typed", ["1.555", "-1", "abc", "1e3", "1,5", "10000000", "0.5.1", "NaN"])
def test_a_co_payment_with_more_than_two_decimals_or_out_of_bounds_is_refused_naming_the_field(typed):
    with pytest.raises(ValidationError) as refused:
        perks.parse_copay(typed)
    assert refused.value.details["field"] == "copay_amount"


def test_minor_units_are_shown_back_with_two_decimals():
    assert [perks.format_copay(amount) for amount in (0, 5, 150, 123456)] == ["0.00", "0.05", "1.50", "1234.56"]


def test_a_validity_window_of_local_days_includes_its_last_day(build, district):
    valid_from, valid_until = perks.validity_window(district, "2026-01-01", date(2026, 12, 31))
    # Asia/Shanghai is UTC+8.
    assert (valid_from, valid_until) == (datetime(2025, 12, 31, 16, 0), datetime(2026, 12, 31, 16, 0))
    perk = build.perk(organization=district, venues=[district], valid_from=valid_from, valid_until=valid_until)
    assert perks.validity_days(perk) == (date(2026, 1, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [("2026-13-01", "", "valid_from"), ("", "1900-01-01", "valid_until"), ("2026-05-02", "2026-05-01", "valid_until")],
)
def test_a_bad_validity_window_is_refused_naming_the_field(district, first, last, field):
    with pytest.raises(ValidationError) as refused:
        perks.validity_window(district, first, last)
    assert refused.value.details["field"] == field


def test_a_perk_outside_its_validity_window_cannot_be_redeemed_and_nothing_is_taken(build, district, clerk):
    volunteer = build.volunteer(build.tree()["communities"][0], points=100)
    today = datetime.now().date()
    window = perks.validity_window(district, today + timedelta(days=3), today + timedelta(days=10))
    later = build.perk(organization=district, venues=[district], stock=5, valid_from=window[0], valid_until=window[1])
    past = perks.validity_window(district, today - timedelta(days=10), today - timedelta(days=3))
    over = build.perk(organization=district, venues=[district], stock=5, valid_from=past[0], valid_until=past[1])

    for perk in (later, over):
        with pytest.raises(NotEligible):
            redeem_with_code(
                clerk, district, volunteer.volunteer.member_no, perk.id, 1, request_key(), level_of=stars(0)
            )
        with pytest.raises(NotEligible):
            perks.reserve_perk(volunteer, perk.id, 1, request_key(), level_of=stars(0))

    assert count_redemptions() == 0
    db.session.expire_all()
    assert [db.session.get(Perk, perk.id).stock for perk in (later, over)] == [5, 5]


# -- editing ---------------------------------------------------------------------------------


def test_a_save_from_a_form_opened_before_another_change_is_refused_whole(admin, perk):
    opened = perk.version
    perks.update_perk(admin, perk.id, expected_version=opened, name="Parking, first hour")
    with pytest.raises(Conflict) as refused:
        perks.update_perk(admin, perk.id, expected_version=opened, name="Stale", points_cost=99)

    assert "changed since you opened it" in refused.value.render_message()
    db.session.expire_all()
    saved = db.session.get(Perk, perk.id)
    assert (saved.name, saved.points_cost, saved.version) == ("Parking, first hour", 5, opened + 1)


def test_an_admin_of_another_district_cannot_find_or_change_the_perk(build, perk):
    outsider = build.staff("admin", build.tree()["districts"][1])
    with pytest.raises(PerkNotFound):
        perks.managed_perk(outsider, perk.id)
    with pytest.raises(PerkNotFound):
        perks.update_perk(outsider, perk.id, name="Mine now")
    with pytest.raises(PerkNotFound):
        perks.adjust_perk_stock(outsider, perk.id, 5, "delivery")
    assert perks.managed_perks(outsider) == []
    db.session.expire_all()
    assert (db.session.get(Perk, perk.id).name, db.session.get(Perk, perk.id).stock) == ("Parking discount", 10)


def test_an_admin_lists_the_perks_of_their_subtree_only(build, admin, district, perk):
    other = build.tree()["districts"][1]
    build.perk(organization=other, venues=[other], name="Elsewhere")
    retired = build.perk(organization=district, venues=[district], name="Old")
    perks.update_perk(admin, retired.id, active=False)

    assert [listed.name for listed in perks.managed_perks(admin)] == ["Parking discount", "Old"]
    assert [listed.name for listed in perks.managed_perks(admin, active=True)] == ["Parking discount"]


# -- stock ----------------------------------------------------------------------------------------


def test_stock_is_adjusted_with_a_reason_listed_and_audited(admin, perk):
    perks.adjust_perk_stock(admin, perk.id, 20, "Delivery from the supermarket")
    perks.adjust_perk_stock(admin, perk.id, -3, "Broken in the store room")
    perks.set_perk_stock(admin, perk.id, None, "No count kept any more")

    listed = perks.stock_adjustments(admin, perk.id)
    assert [(row.stock_before, row.stock_after, row.change, row.reason) for row in listed] == [
        (27, None, None, "No count kept any more"),
        (30, 27, -3, "Broken in the store room"),
        (10, 30, 20, "Delivery from the supermarket"),
    ]
    assert all(row.actor_id == admin.id for row in listed)
    events = _audit("perk.stock")
    assert [(event.actor_id, event.before, event.after) for event in events][0] == (
        admin.id,
        {"stock": 10},
        {"stock": 30, "reason": "Delivery from the supermarket"},
    )


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        (-11, "count", "change"),
        (0, "count", "change"),
        (10**7, "count", "change"),
        (5, " ", "reason"),
        (5, "a\nb", "reason"),
    ],
)
def test_a_bad_stock_adjustment_is_refused_and_nothing_changes(admin, perk, change, reason, field):
    with pytest.raises(ValidationError) as refused:
        perks.adjust_perk_stock(admin, perk.id, change, reason)
    assert refused.value.details["field"] == field
    db.session.expire_all()
    assert db.session.get(Perk, perk.id).stock == 10
    assert db.session.execute(select(func.count(PerkStockAdjustment.id))).scalar_one() == 0


def test_an_unlimited_stock_gets_a_count_before_it_can_be_adjusted(admin, build, district):
    unlimited = build.perk(organization=district, venues=[district])
    with pytest.raises(ValidationError, match="unlimited"):
        perks.adjust_perk_stock(admin, unlimited.id, 5, "delivery")
    perks.set_perk_stock(admin, unlimited.id, 8, "Counted the shelf")
    assert perks.adjust_perk_stock(admin, unlimited.id, 2, "delivery").stock == 10


# -- pictures ----------------------------------------------------------------------------------


def _png(width, height, mode="RGB", color=(200, 30, 30)):
    output = io.BytesIO()
    Image.new(mode, (width, height), color).save(output, format="PNG")
    return output.getvalue()


def _png_claiming(width, height):
    """A tiny PNG whose header claims ``width`` x ``height`` pixels: a decompression bomb."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def _jpeg_with_exif():
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # camera maker
    exif[0x0112] = 6  # orientation: turn 90 degrees to show upright
    output = io.BytesIO()
    Image.new("RGB", (60, 40), (10, 120, 200)).save(output, format="JPEG", exif=exif.tobytes())
    return output.getvalue()


def test_a_jpeg_with_exif_is_stored_re_encoded_upright_and_without_metadata(admin, perk, picture_dir):
    upload = _jpeg_with_exif()
    assert Image.open(io.BytesIO(upload)).getexif()[0x010F] == "SpyCam"

    saved = perks.set_perk_picture(admin, perk.id, upload)

    assert pictures.STORED_NAME.match(saved.picture) and saved.picture.endswith(".jpg")
    stored = (picture_dir / saved.picture).read_bytes()
    assert stored != upload
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG"
    assert image.size == (40, 60)  # turned upright
    assert len(image.getexif()) == 0 and "exif" not in image.info
    assert _audit("perk.picture")[0].after == {"picture": saved.picture}


def test_a_large_picture_is_shrunk_and_transparency_kept_as_png(admin, perk, picture_dir):
    saved = perks.set_perk_picture(admin, perk.id, _png(3000, 1500, "RGBA", (0, 0, 0, 0)))
    with Image.open(picture_dir / saved.picture) as image:
        assert (image.format, image.size, image.mode) == ("PNG", (1200, 600), "RGBA")


def test_the_same_picture_is_stored_once_under_its_content_address(admin, build, district, perk, picture_dir):
    other = build.perk(organization=district, venues=[district], name="Other")
    first = perks.set_perk_picture(admin, perk.id, _png(50, 50)).picture
    second = perks.set_perk_picture(admin, other.id, _png(50, 50)).picture
    assert first == second
    assert _stored_files(picture_dir) == [first]


@pytest.mark.parametrize(
    ("upload", "status", "message"),
    [
        (b"just some text, saved as cat.png", 422, "not a picture we accept"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", 422, "not a picture"),
        (b"GIF89a" + b"\0" * 40, 422, "not a picture we accept"),
        (_png_claiming(20000, 20000), 422, "too big"),
        (_png_claiming(10000, 10000), 422, "too big"),
        (_png_claiming(9000, 10), 422, "too big"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 200, 422, "could not be read"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * pictures.MAX_UPLOAD_BYTES, 413, "larger than 5 MB"),
    ],
    ids=["text", "svg", "gif", "bomb", "bomb-warned", "too-wide", "damaged", "oversize"],
)
def test_a_refused_upload_says_why_and_stores_nothing(admin, perk, picture_dir, upload, status, message):
    with pytest.raises(PointsError) as refused:
        perks.set_perk_picture(admin, perk.id, upload)

    assert refused.value.status == status
    assert message in refused.value.render_message()
    assert refused.value.details["field"] == "picture"
    assert _stored_files(picture_dir) == []
    db.session.expire_all()
    assert db.session.get(Perk, perk.id).picture is None
    assert _audit("perk.picture") == []


def test_an_outsider_cannot_give_a_perk_a_picture_and_nothing_is_stored(build, perk, picture_dir):
    outsider = build.staff("admin", build.tree()["districts"][1])
    with pytest.raises(PerkNotFound):
        perks.set_perk_picture(outsider, perk.id, _png(20, 20))
    assert _stored_files(picture_dir) == []


def test_a_picture_is_removed_with_none(admin, perk):
    perks.set_perk_picture(admin, perk.id, _png(20, 20))
    assert perks.set_perk_picture(admin, perk.id, None).picture is None
