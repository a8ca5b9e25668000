"""Bad input never gets a 500 and nothing wrong is stored: each class of bad input, sent to
the API and to the web forms, is a 4xx naming the field, and no row is written.

The classes: control characters (NUL above all: PostgreSQL cannot store it), numbers out
of the range of their column, numbers that are not whole (``1.5``) or not numbers
(``"11"``, ``true``), JSON that is not strict (a key twice, nesting 10,000 deep), and
dates before 2000.
"""

import io
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from points_service.extensions import db
from tests.builders import PASSWORD
from tests.builders.perks import redeem_with_code, request_key, stars

HUGE = "99999999999999999999"
JUST_TOO_BIG = 2**31


@pytest.fixture
def world(build):
    tree = build.tree()
    district = tree["districts"][0]
    admin = build.staff("admin", tree["city"], username="boss")
    clerk = build.counter_clerk(district, username="clerk")
    volunteer = build.volunteer(points=500)
    perk = build.perk(points_cost=5, stock=100, venues=[district])
    redemption = redeem_with_code(
        clerk, district, volunteer.volunteer.member_no, perk.id, 1, request_key(), level_of=stars(0)
    )
    activity = build.activity()
    [pending] = build.checked_in_roster(activity, [build.volunteer()])
    return SimpleNamespace(
        build=build,
        city=tree["city"],
        community=build.community,
        admin=admin,
        clerk=clerk,
        volunteer=volunteer,
        member_no=volunteer.volunteer.member_no,
        perk=perk,
        redemption=redemption,
        activity=activity,
        pending=pending,
        record=build.record(volunteer),
        headers={"admin": build.bearer(admin), "clerk": build.bearer(clerk)},
    )


def row_counts():
    db.session.rollback()
    return {
        table.name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
        for table in db.metadata.sorted_tables
        # login attempts are counted before anything else, by design (the login throttle)
        if table.name != "login_throttles"
    }


@dataclass(frozen=True)
class Call:
    """One request: ``who`` sends it (an API token, ``login:<user>`` a web session, or
    nobody); ``path`` and ``options`` (the test client's keyword arguments) are given or
    built from the world."""

    name: str
    who: str | None
    method: str
    path: object
    options: object = None

    def send(self, client, world, auth):
        path = self.path(world) if callable(self.path) else self.path
        options = dict(self.options(world) if callable(self.options) else self.options or {})
        if self.who in world.headers:
            keyed = path.startswith(("/api/v1/redemptions", "/api/v1/vouchers", "/api/v1/activities"))
            default_key = {"Idempotency-Key": world.build.idempotency_key()} if keyed else {}
            options["headers"] = {**world.headers[self.who], **default_key, **options.get("headers", {})}
        elif self.who is not None:  # "login:<user>": a web session
            user = self.who.removeprefix("login:")
            auth.login(world.volunteer.mobile if user == "volunteer" else user, PASSWORD)
        return client.open(path, method=self.method, **options)


def _redeem(**fields):
    return lambda w: {"json": {"member_no": w.member_no, "perk_id": w.perk.id, **fields}}


def _record(**fields):
    def options(w):
        return {
            "json": {
                "member_no": w.member_no,
                "organization_id": w.community.id,
                "category": "elderly_care",
                "started_at": "2026-01-05T09:00:00+08:00",
                "ended_at": "2026-01-05T11:00:00+08:00",
                **fields,
            }
        }

    return options


def _raw_json(text):
    return lambda w: {"data": text(w).encode() if callable(text) else text, "content_type": "application/json"}


def _approve_all(w):
    return f"/api/v1/activities/{w.activity.id}/approve-all"


def _void(w):
    return f"/api/v1/redemptions/{w.redemption.id}/void"


def _entries(query):
    return lambda w: f"/api/v1/members/{w.member_no}/entries?{query}"


# -- control characters: 400 naming the field ------------------------------------------------

CONTROL_CHARACTERS = [
    (
        Call(
            "api json body",
            "admin",
            "POST",
            "/api/v1/tokens",
            lambda w: {"json": {"user": "boss\x00", "name": "t", "organization_id": w.city.id}},
        ),
        "user",
    ),
    (
        Call(
            "api json nested",
            "admin",
            "POST",
            _approve_all,
            lambda w: {"json": {"reject": [{"record_id": w.pending.id, "reason": "no\x00"}]}},
        ),
        "reject.0.reason",
    ),
    (
        Call(
            "api json key",
            "admin",
            "POST",
            "/api/v1/tokens",
            _raw_json('{"us\\u0000er": "boss", "name": "t", "organization_id": 1}'),
        ),
        "us\\u0000er",
    ),
    (
        Call(
            "api lone surrogate",
            "admin",
            "POST",
            "/api/v1/tokens",
            _raw_json('{"user": "\\ud800", "name": "t", "organization_id": 1}'),
        ),
        "user",
    ),
    (
        Call(
            "api member number",
            "clerk",
            "POST",
            "/api/v1/redemptions",
            lambda w: {"json": {"member_no": w.member_no + "\x00", "perk_id": w.perk.id}},
        ),
        "member_no",
    ),
    (Call("api void reason", "clerk", "POST", _void, lambda w: {"json": {"reason": "typo\x1b"}}), "reason"),
    (Call("api record note", "admin", "POST", "/api/v1/service-records", _record(note="a\x00b")), "note"),
    (Call("api query", "admin", "GET", "/api/v1/perks?active=true%00"), "active"),
    (Call("api query cursor", "admin", "GET", _entries("cursor=1%00")), "cursor"),
    (
        Call(
            "api header",
            "clerk",
            "POST",
            "/api/v1/redemptions",
            lambda w: {**_redeem()(w), "headers": {"Idempotency-Key": "k\x00"}},
        ),
        "Idempotency-Key",
    ),
    (Call("api path", "clerk", "POST", "/api/v1/vouchers/V%00/fulfil"), "code"),
    (
        Call("web login", None, "POST", "/login", lambda w: {"data": {"login": "boss\x00", "password": PASSWORD}}),
        "login",
    ),
    (
        Call(
            "web register",
            None,
            "POST",
            "/register",
            lambda w: {
                "data": {
                    "name": "Li\x00",
                    "mobile": "13912345678",
                    "community": w.community.id,
                    "password": "long enough 1",
                    "consent": "y",
                }
            },
        ),
        "name",
    ),
    (
        Call(
            "web counter",
            "login:clerk",
            "POST",
            "/counter/redeem",
            lambda w: {"data": {"member_no": w.member_no + "\x00", "perk_id": w.perk.id}},
        ),
        "member_no",
    ),
    (
        Call(
            "web report",
            "login:volunteer",
            "POST",
            "/me/records/new",
            lambda w: {
                "data": {
                    "category": "elderly_care",
                    "started_at": "2026-01-05T09:00",
                    "ended_at": "2026-01-05T11:00",
                    "evidence": "helped\x00 at the hall",
                }
            },
        ),
        "evidence",
    ),
    (Call("web query", None, "GET", "/honor/?before=1%00"), "before"),
]


@pytest.mark.parametrize(("call", "field"), CONTROL_CHARACTERS, ids=[call.name for call, _ in CONTROL_CHARACTERS])
def test_a_control_character_in_any_field_is_a_400_naming_it_and_nothing_is_written(client, world, auth, call, field):
    before = row_counts()
    response = call.send(client, world, auth)
    assert response.status_code == 400
    if response.is_json:
        assert response.json["error"]["code"] == "invalid_characters"
        assert response.json["error"]["details"]["field"] == field
    else:
        assert f"“{field}”" in response.get_data(as_text=True)
    assert row_counts() == before


# -- numbers: out of their column's range, not whole, not numbers: 422 naming the field -----------

NUMBERS = [
    (
        Call("id beyond 32 bits", "clerk", "POST", "/api/v1/redemptions", _redeem(perk_id=JUST_TOO_BIG)),
        "json",
        "perk_id",
    ),
    (
        Call("id beyond 64 bits", "clerk", "POST", "/api/v1/redemptions", _redeem(counter_id=int(HUGE))),
        "json",
        "counter_id",
    ),
    (
        Call("id as a string", "clerk", "POST", "/api/v1/redemptions", lambda w: _redeem(perk_id=str(w.perk.id))(w)),
        "json",
        "perk_id",
    ),
    (Call("quantity 1.5", "clerk", "POST", "/api/v1/redemptions", _redeem(quantity=1.5)), "json", "quantity"),
    (Call("quantity 1.0", "clerk", "POST", "/api/v1/redemptions", _redeem(quantity=1.0)), "json", "quantity"),
    (Call("quantity as a string", "clerk", "POST", "/api/v1/redemptions", _redeem(quantity="2")), "json", "quantity"),
    (Call("quantity true", "clerk", "POST", "/api/v1/redemptions", _redeem(quantity=True)), "json", "quantity"),
    (
        Call(
            "organization beyond 32 bits",
            "admin",
            "POST",
            "/api/v1/tokens",
            {"json": {"user": "boss", "name": "t", "organization_id": JUST_TOO_BIG}},
        ),
        "json",
        "organization_id",
    ),
    (
        Call("record ids as strings", "admin", "POST", _approve_all, lambda w: {"json": {"only": [str(w.pending.id)]}}),
        "json",
        "only",
    ),
    (
        Call("record id beyond 32 bits", "admin", "POST", _approve_all, {"json": {"exclude": [JUST_TOO_BIG]}}),
        "json",
        "exclude",
    ),
    (
        Call(
            "a record rejected twice",
            "admin",
            "POST",
            _approve_all,
            lambda w: {
                "json": {
                    "reject": [{"record_id": w.pending.id, "reason": "a"}, {"record_id": w.pending.id, "reason": "b"}]
                }
            },
        ),
        "json",
        "reject",
    ),
    (Call("urgent as a word", "admin", "POST", "/api/v1/service-records", _record(urgent="yes")), "json", "urgent"),
    (Call("cursor beyond 32 bits", "admin", "GET", _entries(f"cursor={JUST_TOO_BIG}")), "query", "cursor"),
    (Call("cursor beyond 64 bits", None, "GET", f"/api/v1/honor-rolls?cursor={HUGE}"), "query", "cursor"),
    (
        Call("query id beyond 32 bits", "admin", "GET", f"/api/v1/perks?organization_id={JUST_TOO_BIG}"),
        "query",
        "organization_id",
    ),
    (Call("limit 1.5", "admin", "GET", _entries("limit=1.5")), "query", "limit"),
]


@pytest.mark.parametrize(("call", "location", "field"), NUMBERS, ids=[call.name for call, *_ in NUMBERS])
def test_a_number_the_api_cannot_take_as_it_is_is_a_422_naming_it_and_nothing_is_written(
    client, world, auth, call, location, field
):
    before = row_counts()
    response = call.send(client, world, auth)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["details"]["fields"][location]
    assert row_counts() == before


WEB_NUMBERS = [
    (
        Call(
            "perk id beyond 64 bits",
            "login:clerk",
            "POST",
            "/counter/redeem",
            lambda w: {"data": {"member_no": w.member_no, "perk_id": HUGE}},
        ),
        "The perk must be a whole number",
    ),
    (
        Call(
            "quantity 1.5 at the counter",
            "login:clerk",
            "POST",
            "/counter/redeem",
            lambda w: {"data": {"member_no": w.member_no, "perk_id": w.perk.id, "quantity": "1.5"}},
        ),
        "Quantity must be a whole number",
    ),
    (
        Call(
            "quantity 1.5 online",
            "login:volunteer",
            "POST",
            lambda w: f"/perks/{w.perk.id}/reserve",
            {"data": {"quantity": "1.5"}},
        ),
        "Quantity must be a whole number",
    ),
    (Call("page cursor beyond 64 bits", None, "GET", f"/honor/?before={HUGE}"), "before must be a whole number"),
    (
        Call(
            "community beyond 64 bits",
            None,
            "POST",
            "/register",
            {
                "data": {
                    "name": "Li",
                    "mobile": "13912345678",
                    "community": HUGE,
                    "password": "long enough 1",
                    "consent": "y",
                }
            },
        ),
        "Number must be between 1 and 2147483647",
    ),
]


@pytest.mark.parametrize(("call", "message"), WEB_NUMBERS, ids=[call.name for call, _ in WEB_NUMBERS])
def test_a_number_a_web_form_cannot_take_is_shown_on_the_form_and_nothing_is_written(
    client, world, auth, call, message
):
    before = row_counts()
    response = call.send(client, world, auth)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert row_counts() == before


OUT_OF_RANGE_PATHS = [
    ("POST", f"/api/v1/redemptions/{HUGE}/void", "clerk"),
    ("POST", f"/api/v1/service-records/{JUST_TOO_BIG}/approve", "admin"),
    ("POST", "/api/v1/tokens/0/revoke", "admin"),
    ("GET", f"/api/v1/honor-rolls/{HUGE}", None),
    ("GET", f"/perks/{HUGE}", "login:volunteer"),
    ("GET", f"/counter/redemptions/{HUGE}", "login:clerk"),
    ("GET", f"/organizer/activities/{JUST_TOO_BIG}", "login:boss"),
    ("POST", f"/me/activities/{HUGE}/signup", "login:volunteer"),
    ("GET", f"/honor/{HUGE}", None),
]


@pytest.mark.parametrize(("method", "path", "who"), OUT_OF_RANGE_PATHS, ids=[path for _, path, _ in OUT_OF_RANGE_PATHS])
def test_an_id_in_a_path_beyond_its_column_is_not_found(client, world, auth, method, path, who):
    before = row_counts()
    response = Call(path, who, method, path).send(client, world, auth)
    assert response.status_code == 404
    assert row_counts() == before


def test_every_integer_in_a_url_rule_is_a_bounded_id(app):
    from points_service.inputs import MAX_ID

    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            if hasattr(converter, "max"):
                assert (converter.min, converter.max) == (1, MAX_ID), (rule.rule, name)


def test_a_ticked_roster_id_beyond_its_column_is_refused_with_a_message(client, world, auth):
    auth.login(world.build.organizer().username, PASSWORD)
    before = row_counts()
    response = client.post(
        f"/organizer/activities/{world.activity.id}/roster",
        data={"volunteer": HUGE, "action": "present"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Some ticked names are not on this roster" in response.get_data(as_text=True)
    assert row_counts() == before


# -- JSON that is not strict: 400 ----------------------------------------------------------------

JSON_BODIES = [
    (
        "a key twice",
        lambda w: f'{{"member_no": "{w.member_no}", "perk_id": {w.perk.id}, "quantity": 1, "quantity": 5}}',
        "quantity",
    ),
    ("nested 10,000 deep", lambda w: '{"member_no": ' + "[" * 10000 + "]" * 10000 + "}", None),
    ("NaN", lambda w: f'{{"member_no": "{w.member_no}", "perk_id": NaN}}', None),
    ("a 5000-digit number", lambda w: f'{{"member_no": "{w.member_no}", "perk_id": {"9" * 5000}}}', None),
    ("not JSON", lambda w: '{"member_no": ', None),
]


@pytest.mark.parametrize(
    ("text", "field"), [(text, field) for _, text, field in JSON_BODIES], ids=[n for n, *_ in JSON_BODIES]
)
def test_a_json_body_that_is_not_strict_json_is_a_400_and_nothing_is_written(client, world, auth, text, field):
    before = row_counts()
    response = Call("json", "clerk", "POST", "/api/v1/redemptions", _raw_json(text)).send(client, world, auth)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"
    if field is not None:
        assert response.json["error"]["details"]["field"] == field
        assert f"“{field}”" in response.json["error"]["message"]
    assert row_counts() == before


def test_invalid_utf8_in_a_json_body_is_a_400(client, world, auth):
    call = Call(
        "bytes",
        "clerk",
        "POST",
        "/api/v1/redemptions",
        {"data": b'{"member_no": "\xff"}', "content_type": "application/json"},
    )
    response = call.send(client, world, auth)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_json"


# -- dates before 2000: refused, the field named -------------------------------------------------

DATES = [
    (
        Call(
            "year 1",
            "admin",
            "POST",
            "/api/v1/service-records",
            _record(started_at="0001-01-01T09:00:00+00:00", ended_at="0001-01-01T10:00:00+00:00"),
        ),
        "started_at",
    ),
    (
        Call(
            "year 1900",
            "admin",
            "POST",
            "/api/v1/service-records",
            _record(started_at="1900-03-01T09:00:00+08:00", ended_at="1900-03-01T10:00:00+08:00"),
        ),
        "started_at",
    ),
]


@pytest.mark.parametrize(("call", "field"), DATES, ids=[call.name for call, _ in DATES])
def test_service_before_2000_is_refused_through_the_api_and_nothing_is_written(client, world, auth, call, field):
    before = row_counts()
    response = call.send(client, world, auth)
    assert response.status_code == 422
    assert response.json["error"]["details"]["field"] == field
    assert "2000-01-01" in response.json["error"]["message"]
    assert row_counts() == before


def test_a_time_at_the_start_of_the_calendar_is_not_a_valid_datetime(client, world, auth):
    call = Call(
        "year 1 east of UTC",
        "admin",
        "POST",
        "/api/v1/service-records",
        _record(started_at="0001-01-01T00:00:00+08:00"),
    )
    before = row_counts()
    response = call.send(client, world, auth)
    assert response.status_code == 422
    assert "started_at" in response.json["error"]["details"]["fields"]["json"]
    assert row_counts() == before


WEB_DATES = [
    Call(
        "organizer record",
        "login:boss",
        "POST",
        "/organizer/records/new",
        lambda w: {
            "data": {
                "member_no": w.member_no,
                "organization": w.community.id,
                "category": "elderly_care",
                "started_at": "0001-01-01T00:00",
                "ended_at": "0001-01-01T01:00",
            }
        },
    ),
    Call(
        "activity",
        "login:boss",
        "POST",
        "/organizer/activities/new",
        lambda w: {
            "data": {
                "organization": w.community.id,
                "title": "Old",
                "category": "elderly_care",
                "place": "Hall",
                "starts_at": "0001-01-01T00:00",
                "ends_at": "0001-01-01T01:00",
                "capacity": "5",
            }
        },
    ),
    Call(
        "volunteer report",
        "login:volunteer",
        "POST",
        "/me/records/new",
        {
            "data": {
                "category": "elderly_care",
                "started_at": "1900-01-01T09:00",
                "ended_at": "1900-01-01T11:00",
                "evidence": "helped at the hall",
            }
        },
    ),
    Call(
        "re-rating",
        "login:boss",
        "POST",
        "/organizer/simulation",
        lambda w: {
            "data": {
                "run": "rerate",
                "rerate-rule_set": w.build.service_rules().id,
                "rerate-start": "0001-01-01",
                "rerate-end": "0001-01-31",
            }
        },
    ),
]


@pytest.mark.parametrize("call", WEB_DATES, ids=[call.name for call in WEB_DATES])
def test_a_date_before_2000_on_a_web_form_is_shown_next_to_its_field_and_nothing_is_written(client, world, auth, call):
    before = row_counts()
    response = call.send(client, world, auth)
    assert response.status_code == 422
    assert "Enter a date from 2000-01-01 to 2099-12-31." in response.get_data(as_text=True)
    assert row_counts() == before


@pytest.mark.parametrize(("day", "start"), [("0001-01-01", "09:30"), ("0001-01-01", "00:30"), ("1900-01-01", "09:30")])
def test_an_imported_row_dated_before_2000_is_a_row_error_and_nothing_is_imported(client, world, auth, day, start):
    # 00:30 on 1 January of year 1 in Shanghai lies before the first moment UTC can hold.
    content = f"Member number,Category,Date,Start,End\n{world.member_no},elderly_care,{day},{start},10:30\n".encode()
    before = row_counts()
    response = client.post(
        "/api/v1/imports",
        data={"organization_id": world.community.id, "file": (io.BytesIO(content), "hours.csv")},
        headers=world.headers["admin"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "2000-01-01" in str(response.json["error"]["details"])
    assert row_counts() == before


def test_the_refusal_is_in_the_callers_language(client, world, auth):
    call = Call("zh", "admin", "GET", "/api/v1/perks?active=true%00", {"headers": {"Accept-Language": "zh-CN"}})
    response = call.send(client, world, auth)
    assert response.json["error"]["message"] == "“active”含有不允许的控制字符（如 NUL），请删除后重试。"
