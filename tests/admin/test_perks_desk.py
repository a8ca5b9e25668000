"""The desk's perks and categories pages: forms that name the bad field, a stale save refused,
stock with reasons, pictures checked, and nothing visible or changeable outside the subtree."""

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from points_service.audit.models import AuditEvent
from points_service.extensions import db
from points_service.perks import pictures
from points_service.perks.models import Perk, PerkStockAdjustment
from points_service.rules import service as rules
from points_service.rules.models import ServiceCategory
from tests.builders import PASSWORD


@pytest.fixture
def app_config(tmp_path):
    return {"PERK_PICTURE_DIR": str(tmp_path / "pictures")}


@pytest.fixture
def tree(build):
    return build.tree()


@pytest.fixture
def district(tree):
    return tree["districts"][0]


@pytest.fixture
def admin(build, auth, district):
    user = build.staff("admin", district)
    auth.login(user.username, PASSWORD)
    return user


@pytest.fixture
def perk(build, district):
    return build.perk(organization=district, venues=[district], points_cost=5, stock=10, name="Bus card top-up")


def _form(district, **changes):
    form = {
        "name": "Rice 5 kg",
        "kind": "goods",
        "organization": str(district.id),
        "points_cost": "80",
        "copay_amount": "1.5",
        "stock": "12",
        "limit_quantity": "2",
        "limit_period": "month",
        "min_stars": "1",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "venues": [str(district.id)],
        "terms": "One bag per visit.",
    }
    form.update(changes)
    return form


def _edit_form(perk, **changes):
    form = {
        "version": str(perk.version),
        "name": perk.name,
        "kind": perk.kind,
        "points_cost": str(perk.points_cost),
        "copay_amount": "",
        "limit_quantity": "",
        "limit_period": "",
        "min_stars": "0",
        "valid_from": "",
        "valid_until": "",
        "venues": [str(venue.organization_id) for venue in perk.venues],
        "terms": "",
    }
    form.update(changes)
    return form


def _perk_count():
    return db.session.execute(select(func.count(Perk.id))).scalar_one()


def _png(width=30, height=20):
    output = io.BytesIO()
    Image.new("RGB", (width, height), (0, 128, 0)).save(output, format="PNG")
    return output.getvalue()


def _reloaded(perk):
    db.session.expire_all()
    return db.session.get(Perk, perk.id)


# -- perks ----------------------------------------------------------------------------------------


def test_an_admin_creates_a_perk_with_a_cash_part_in_yuan_and_sees_it_listed(client, admin, district):
    response = client.post("/admin/perks/new", data=_form(district))

    assert response.status_code == 302
    perk = db.session.execute(select(Perk)).scalar_one()
    assert (perk.copay_amount, perk.stock, perk.limit_quantity, perk.limit_period, perk.min_stars) == (
        150,
        12,
        2,
        "month",
        1,
    )
    assert [venue.organization_id for venue in perk.venues] == [district.id]
    listing = client.get("/admin/perks").get_data(as_text=True)
    assert "Rice 5 kg" in listing and "¥1.50" in listing and "at most 2 per month" in listing
    form = client.get(f"/admin/perks/{perk.id}").get_data(as_text=True)
    assert 'value="1.50"' in form and 'value="2026-12-31"' in form
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "perk.create")).scalar_one()
    assert event.actor_id == admin.id and event.after["copay_amount"] == 150


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"copay_amount": "1.555"}, "at most two decimals"),
        ({"copay_amount": "-2"}, "Enter the co-payment in yuan"),
        ({"points_cost": "1.5"}, "Points must be a whole number"),
        ({"points_cost": ""}, "Points must be a whole number"),
        ({"name": " "}, "A perk needs a name"),
        ({"venues": []}, "Choose at least one place"),
        ({"venues": ["99999999999999"]}, "Choose the places from the list"),
        ({"venues": ["9999"]}, "Choose the places from the list"),
        ({"limit_period": ""}, "A limit needs both"),
        ({"min_stars": "11"}, "minimum star level"),
        ({"valid_until": "2025-06-01"}, "end of the validity window"),
        ({"valid_from": "2026-02-30"}, "Enter a date as YYYY-MM-DD"),
        ({"stock": "-1"}, "Stock must be a whole number"),
    ],
)
def test_a_bad_field_is_named_on_the_form_and_nothing_is_created(client, admin, district, change, message):
    response = client.post("/admin/perks/new", data=_form(district, **change))

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page
    assert 'value="Rice 5 kg"' in page or change.get("name")  # what was typed is kept
    assert _perk_count() == 0


def test_the_second_admin_saving_an_edit_opened_before_the_first_save_is_refused(
    app, client, build, admin, district, perk
):
    other = app.test_client()
    other.post("/login", data={"login": build.staff("admin", district).username, "password": PASSWORD})
    # Both open the form at the same version.
    first = _edit_form(perk, name="Bus card top-up, 10 yuan")
    second = _edit_form(perk, name="Something else", points_cost="50")
    assert client.post(f"/admin/perks/{perk.id}", data=first).status_code == 302

    response = other.post(f"/admin/perks/{perk.id}", data=second)

    assert response.status_code == 409
    assert "changed since you opened it" in response.get_data(as_text=True)
    saved = _reloaded(perk)
    assert (saved.name, saved.points_cost) == ("Bus card top-up, 10 yuan", 5)


def test_stock_is_adjusted_with_a_reason_and_the_adjustments_are_listed(client, admin, perk):
    response = client.post(f"/admin/perks/{perk.id}/stock", data={"change": "+20", "reason": "Delivery 12 May"})
    assert response.status_code == 302
    client.post(f"/admin/perks/{perk.id}/stock", data={"change": "-3", "reason": "Broken"})

    assert _reloaded(perk).stock == 27
    page = client.get(f"/admin/perks/{perk.id}").get_data(as_text=True)
    assert "Delivery 12 May" in page and "+20" in page and "Broken" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"change": "-11", "reason": "count"}, "Only 10 in stock"),
        ({"change": "1.5", "reason": "count"}, "must be a whole number"),
        ({"change": "5", "reason": ""}, "Give a reason"),
        ({"action": "count", "count": "x", "reason": "count"}, "Count on the shelf must be a whole number"),
    ],
)
def test_a_bad_stock_adjustment_is_refused_with_its_field_named(client, admin, perk, data, message):
    response = client.post(f"/admin/perks/{perk.id}/stock", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _reloaded(perk).stock == 10
    assert db.session.execute(select(func.count(PerkStockAdjustment.id))).scalar_one() == 0


def test_a_stock_count_can_make_the_stock_unlimited(client, admin, perk):
    client.post(f"/admin/perks/{perk.id}/stock", data={"action": "count", "count": "", "reason": "No count kept"})
    assert _reloaded(perk).stock is None


def test_a_picture_is_uploaded_served_by_its_content_address_and_shown_in_the_catalog(
    client, build, auth, admin, perk, tree
):
    upload = {"picture": (io.BytesIO(_png()), "rice.png")}
    response = client.post(f"/admin/perks/{perk.id}/picture", data=upload, content_type="multipart/form-data")

    assert response.status_code == 302
    name = _reloaded(perk).picture
    assert pictures.STORED_NAME.match(name) and name.endswith(".jpg")
    with client.get(f"/perks/pictures/{name}") as served:
        assert served.status_code == 200
        assert served.headers["Content-Type"] == "image/jpeg"
        assert "immutable" in served.headers["Cache-Control"]
        assert Image.open(io.BytesIO(served.data)).size == (30, 20)

    auth.logout()
    volunteer = build.volunteer(tree["communities"][0], points=50)
    auth.login(volunteer.mobile, PASSWORD)
    assert f'src="/perks/pictures/{name}"' in client.get("/perks/").get_data(as_text=True)


def test_a_text_file_named_like_a_picture_is_refused_and_nothing_is_stored(client, admin, perk):
    upload = {"picture": (io.BytesIO(b"not a picture at all"), "photo.png", "image/png")}
    response = client.post(f"/admin/perks/{perk.id}/picture", data=upload, content_type="multipart/form-data")

    assert response.status_code == 422
    assert "not a picture we accept" in response.get_data(as_text=True)
    assert _reloaded(perk).picture is None
    assert not pictures.picture_directory().exists() or not any(pictures.picture_directory().iterdir())


def test_unknown_or_malformed_picture_names_are_not_found(client):
    assert client.get("/perks/pictures/" + "0" * 64 + ".jpg").status_code == 404
    assert client.get("/perks/pictures/..%2F..%2Fpoints.sqlite3").status_code == 404
    assert client.get("/perks/pictures/dev-secret-key").status_code == 404


def test_retiring_takes_the_perk_out_of_the_catalog_and_reactivating_brings_it_back(client, admin, perk):
    client.post(f"/admin/perks/{perk.id}/state", data={"active": "0"})
    assert _reloaded(perk).active is False
    assert "Bus card top-up" not in client.get("/admin/perks").get_data(as_text=True)
    assert "Bus card top-up" in client.get("/admin/perks?state=retired").get_data(as_text=True)
    client.post(f"/admin/perks/{perk.id}/state", data={"active": "1"})
    assert _reloaded(perk).active is True
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "perk.update")).scalars().all()
    assert [(event.actor_id, event.before["active"], event.after["active"]) for event in events] == [
        (admin.id, True, False),
        (admin.id, False, True),
    ]


def test_an_admin_of_another_district_finds_nothing_and_changes_nothing(client, build, auth, tree, perk):
    outsider = build.staff("admin", tree["districts"][1])
    auth.login(outsider.username, PASSWORD)

    assert "Bus card top-up" not in client.get("/admin/perks").get_data(as_text=True)
    assert client.get(f"/admin/perks/{perk.id}").status_code == 404
    assert client.post(f"/admin/perks/{perk.id}", data=_edit_form(perk, name="Mine")).status_code == 404
    assert client.post(f"/admin/perks/{perk.id}/stock", data={"change": "5", "reason": "x"}).status_code == 404
    assert client.post(f"/admin/perks/{perk.id}/state", data={"active": "0"}).status_code == 404
    upload = {"picture": (io.BytesIO(_png()), "a.png")}
    assert (
        client.post(f"/admin/perks/{perk.id}/picture", data=upload, content_type="multipart/form-data").status_code
        == 404
    )
    saved = _reloaded(perk)
    assert (saved.name, saved.stock, saved.active, saved.picture) == ("Bus card top-up", 10, True, None)


def test_creating_a_perk_for_another_district_is_refused(client, admin, tree):
    other = tree["districts"][1]
    response = client.post("/admin/perks/new", data=_form(tree["districts"][0], organization=str(other.id)))
    assert response.status_code == 403
    assert _perk_count() == 0


@pytest.mark.parametrize("role", ["organizer", "counter"])
def test_organizers_and_counter_staff_get_no_perk_or_category_page(client, build, auth, district, perk, role):
    user = build.staff(role, district)
    auth.login(user.username, PASSWORD)
    for url in ("/admin/perks", "/admin/perks/new", f"/admin/perks/{perk.id}", "/admin/categories"):
        assert client.get(url).status_code == 403
    assert client.post(f"/admin/perks/{perk.id}/stock", data={"change": "5", "reason": "x"}).status_code == 403
    assert _reloaded(perk).stock == 10


# -- categories ------------------------------------------------------------------------------------


@pytest.fixture
def city_admin(build, auth, tree):
    user = build.staff("admin", tree["city"])
    auth.login(user.username, PASSWORD)
    return user


def test_a_city_admin_adds_renames_deactivates_and_reactivates_a_category(client, city_admin):
    response = client.post("/admin/categories", data={"code": "tutoring", "name_en": "Tutoring", "name_zh": "课业辅导"})
    assert response.status_code == 302
    client.post("/admin/categories/tutoring", data={"name_en": "Homework help", "name_zh": "作业辅导"})
    client.post("/admin/categories/tutoring", data={"active": "0"})

    category = rules.get_category("tutoring")
    assert (category.name_en, category.name_zh, category.active) == ("Homework help", "作业辅导", False)
    page = client.get("/admin/categories").get_data(as_text=True)
    assert "Homework help" in page and "Deactivated" in page and "Reactivate" in page
    client.post("/admin/categories/tutoring", data={"active": "1"})
    db.session.expire_all()
    assert rules.get_category("tutoring").active is True
    actions = db.session.execute(select(AuditEvent.action).where(AuditEvent.target_type == "service_category"))
    assert list(actions.scalars()) == [
        "rules.category_create",
        "rules.category_update",
        "rules.category_update",
        "rules.category_update",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "Tutoring!", "name_en": "Tutoring", "name_zh": "辅导"}, "A category code is 2 to 40"),
        ({"code": "tutoring", "name_en": " ", "name_zh": "辅导"}, "Enter a name of 1 to 80 characters"),
        ({"code": "elderly_care", "name_en": "Again", "name_zh": "再次"}, "is taken"),
    ],
)
def test_a_bad_category_is_refused_with_its_field_named(client, build, city_admin, data, message):
    build.service_rules()
    before = db.session.execute(select(func.count(ServiceCategory.id))).scalar_one()
    response = client.post("/admin/categories", data=data)
    assert response.status_code in (409, 422)
    assert message in response.get_data(as_text=True)
    assert db.session.execute(select(func.count(ServiceCategory.id))).scalar_one() == before


def test_renaming_to_an_empty_name_is_refused_and_the_name_kept(client, build, city_admin):
    build.service_rules()
    response = client.post("/admin/categories/elderly_care", data={"name_en": "", "name_zh": "助老"})
    assert response.status_code == 422
    assert "Enter a name of 1 to 80 characters" in response.get_data(as_text=True)
    db.session.expire_all()
    assert rules.get_category("elderly_care").name_zh != "助老"


def test_a_district_admin_sees_the_categories_but_cannot_change_them(client, build, admin):
    build.service_rules()
    page = client.get("/admin/categories").get_data(as_text=True)
    assert "elderly_care" in page and "only an administrator of the whole city" in page
    assert "Add the category" not in page
    response = client.post("/admin/categories", data={"code": "tutoring", "name_en": "T", "name_zh": "辅导"})
    assert response.status_code == 403
    assert client.post("/admin/categories/elderly_care", data={"active": "0"}).status_code == 403
    db.session.expire_all()
    assert rules.get_category("elderly_care").active is True
    assert client.post("/admin/categories/no_such_code", data={"active": "0"}).status_code == 404


def test_the_perk_pages_speak_chinese_with_the_cash_part_in_yuan(client, admin, perk):
    client.post(f"/admin/perks/{perk.id}", data=_edit_form(perk, copay_amount="5"))
    chinese = {"Accept-Language": "zh-CN"}
    listing = client.get("/admin/perks", headers=chinese).get_data(as_text=True)
    assert "新增权益" in listing and "¥5.00" in listing
    form = client.get(f"/admin/perks/{perk.id}", headers=chinese).get_data(as_text=True)
    assert "自付金额（元）" in form and "调整库存" in form
    refused = client.post(f"/admin/perks/{perk.id}", data=_edit_form(perk, copay_amount="1.234"), headers=chinese)
    assert "最多两位小数" in refused.get_data(as_text=True)
    assert "服务类别" in client.get("/admin/categories", headers=chinese).get_data(as_text=True)
