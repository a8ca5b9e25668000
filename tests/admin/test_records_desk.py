"""The desk's approvals backlog: filters, bulk decisions (all or nothing), four eyes, exports."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from points_service.activities import service as activities
from points_service.activities.models import ServiceRecord
from points_service.audit.models import AuditEvent
from points_service.checks import run_all_checks
from points_service.extensions import db
from points_service.ledger.models import LedgerEntry
from tests.builders import PASSWORD


@pytest.fixture
def admin(build):
    return build.staff("admin", build.tree()["districts"][0])


@pytest.fixture
def signed_in(client, auth, admin):
    auth.login(admin.username, PASSWORD)
    return client


def form_state(html):
    """What the page carries for a decision: when it was loaded and each row's version."""
    as_of = re.search(r'name="as_of" value="([^"]+)"', html).group(1)
    versions = dict(re.findall(r'name="v-(\d+)" value="([^"]+)"', html))
    return as_of, versions


def statuses(ids):
    db.session.expire_all()
    rows = db.session.execute(select(ServiceRecord.id, ServiceRecord.status).where(ServiceRecord.id.in_(ids))).all()
    return dict(rows)


def batch_ids(batch):
    return db.session.execute(select(ServiceRecord.id).where(ServiceRecord.import_batch_id == batch.id)).scalars().all()


def earn_entries():
    db.session.expire_all()
    return db.session.execute(
        select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "earn", LedgerEntry.cause_type == "service_record")
    ).scalar_one()


def decide(client, html, *, batch=None, scope="all", action="approve", records=(), exceptions=None, **extra):
    as_of, versions = form_state(html)
    data = {"as_of": as_of, "scope": scope, "action": action, "record": [str(r) for r in records], **extra}
    if batch is not None:
        data["batch"] = str(batch.id)
    data["shown"] = list(versions)
    for record_id, version in versions.items():
        data[f"v-{record_id}"] = version
    for record_id, (decision, reason) in (exceptions or {}).items():
        data[f"d-{record_id}"] = decision
        data[f"reason-{record_id}"] = reason
    return client.post("/admin/records/decision", data=data)


def test_the_backlog_lists_pending_records_longest_waiting_first_with_source_and_who_entered_them(build, signed_in):
    volunteer = build.volunteer(name="Wang Xiaoming")
    entered = build.record(volunteer)
    imported = build.imported_records(3, volunteers=1)

    page = signed_in.get("/admin/records").get_data(as_text=True)

    assert "4 records match this filter." in page
    assert "Wang Xiaoming" not in page and "W***********" in page
    assert page.index(f'data-record="{entered.id}"') < page.index(f'data-record="{batch_ids(imported.batch)[0]}"')
    assert "Organizer entry" in page and "Import" in page
    assert build.organizer().name in page


def test_filters_narrow_the_list_and_a_filter_no_page_offers_is_refused_by_name(build, signed_in):
    build.record(build.volunteer(), category="patrol")
    imported = build.imported_records(4, volunteers=2)

    assert "4 records match" in signed_in.get("/admin/records?source=import").get_data(as_text=True)
    assert "4 records match" in signed_in.get(f"/admin/records?batch={imported.batch.id}").get_data(as_text=True)
    assert "1 records match" in signed_in.get("/admin/records?category=patrol").get_data(as_text=True)
    assert "0 records match" in signed_in.get("/admin/records?age=7").get_data(as_text=True)
    refused = signed_in.get("/admin/records?source=fax")
    assert refused.status_code == 422 and "source" in refused.get_data(as_text=True)


def test_pages_follow_each_other_by_keyset_without_repeating_a_record(build, signed_in):
    imported = build.imported_records(60, volunteers=6)
    first = signed_in.get(f"/admin/records?batch={imported.batch.id}").get_data(as_text=True)
    next_link = re.search(r'href="(/admin/records\?after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = signed_in.get(next_link).get_data(as_text=True)
    shown = re.findall(r'data-record="(\d+)"', first) + re.findall(r'data-record="(\d+)"', second)
    assert sorted(map(int, shown)) == sorted(batch_ids(imported.batch))


def test_a_hundred_imported_records_are_approved_in_one_request_with_a_hundred_earn_entries(build, signed_in):
    imported = build.imported_records(100)
    page = signed_in.get(f"/admin/records?batch={imported.batch.id}").get_data(as_text=True)

    response = decide(signed_in, page, batch=imported.batch)

    assert response.status_code == 302
    assert set(statuses(batch_ids(imported.batch)).values()) == {"approved"}
    assert earn_entries() == 100
    assert "100 approved." in signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert run_all_checks().ok


def test_per_row_exceptions_leave_one_pending_and_reject_one_with_its_reason(build, signed_in):
    imported = build.imported_records(10, volunteers=5)
    page = signed_in.get(f"/admin/records?batch={imported.batch.id}").get_data(as_text=True)
    kept, refused, *rest = batch_ids(imported.batch)

    response = decide(
        signed_in,
        page,
        batch=imported.batch,
        exceptions={kept: ("exclude", ""), refused: ("reject", "Not on the sheet")},
    )

    assert response.status_code == 302
    assert statuses([kept, refused]) == {kept: "pending", refused: "rejected"}
    assert set(statuses(rest).values()) == {"approved"}
    assert db.session.get(ServiceRecord, refused).rejection_reason == "Not on the sheet"
    assert "8 approved, 1 rejected, 1 left pending." in signed_in.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_a_rejection_without_a_reason_is_refused_naming_the_row_and_nothing_is_decided(build, signed_in):
    imported = build.imported_records(3, volunteers=3)
    page = signed_in.get("/admin/records").get_data(as_text=True)
    first = batch_ids(imported.batch)[0]

    response = decide(signed_in, page, exceptions={first: ("reject", " ")})

    assert response.status_code == 422
    assert "rejection needs a reason" in response.get_data(as_text=True)
    assert set(statuses(batch_ids(imported.batch)).values()) == {"pending"}


def test_rows_decided_by_someone_else_since_the_page_loaded_stop_the_whole_action_and_are_named(build, signed_in):
    imported = build.imported_records(5, volunteers=5)
    page = signed_in.get(f"/admin/records?batch={imported.batch.id}").get_data(as_text=True)
    ids = batch_ids(imported.batch)
    activities.approve_record(build.staff("admin", build.tree()["city"]), ids[3])  # meanwhile, someone else

    response = decide(signed_in, page, batch=imported.batch)

    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert f'data-refused="{ids[3]}"' in text and "it is already approved" in text
    assert "Nothing was decided" in text
    assert statuses(ids) == {**dict.fromkeys(ids, "pending"), ids[3]: "approved"}
    # Submitted again as the page now stands, the rest go through.
    assert decide(signed_in, text, batch=imported.batch).status_code == 302
    assert set(statuses(ids).values()) == {"approved"}


def test_a_ticked_row_that_changed_since_the_page_loaded_is_refused_by_its_version(build, signed_in):
    one, two = build.record(build.volunteer()), build.record(build.volunteer())
    page = signed_in.get("/admin/records").get_data(as_text=True)
    page = page.replace(f'name="v-{one.id}" value="', f'name="v-{one.id}" value="2000-01-01T00:00:00')

    response = decide(signed_in, page, scope="selected", records=[one.id, two.id])

    assert response.status_code == 409
    assert "changed since the page was loaded" in response.get_data(as_text=True)
    assert set(statuses([one.id, two.id]).values()) == {"pending"}


def test_own_rows_cannot_be_ticked_are_left_out_of_all_on_the_filter_and_are_refused_when_forged(
    build, signed_in, admin
):
    volunteer = build.volunteer()
    mine = build.record(volunteer, entered_by=admin)
    theirs = build.record(build.volunteer())

    page = signed_in.get("/admin/records").get_data(as_text=True)
    row = page[page.index(f'data-record="{mine.id}"') :]
    assert "disabled" in row[: row.index("</tr>")] and "another person approves it" in row[: row.index("</tr>")]
    assert "1 of them you entered or performed yourself." in page

    forged = decide(signed_in, page, scope="selected", records=[mine.id, theirs.id])
    assert forged.status_code == 409
    assert f'data-refused="{mine.id}"' in forged.get_data(as_text=True)
    assert statuses([mine.id, theirs.id]) == {mine.id: "pending", theirs.id: "pending"}

    assert decide(signed_in, page).status_code == 302
    assert statuses([mine.id, theirs.id]) == {mine.id: "pending", theirs.id: "approved"}


def test_an_admin_of_another_district_sees_nothing_and_changes_nothing(build, client, auth):
    imported = build.imported_records(3, volunteers=3)
    outsider = build.staff("admin", build.tree()["districts"][1])
    auth.login(outsider.username, PASSWORD)

    page = client.get("/admin/records").get_data(as_text=True)
    assert "0 records match" in page
    ids = batch_ids(imported.batch)
    response = client.post(
        "/admin/records/decision",
        data={
            "scope": "selected",
            "action": "approve",
            "record": [str(i) for i in ids],
            "as_of": "2000-01-01T00:00:00",
        },
    )
    assert response.status_code == 403
    assert set(statuses(ids).values()) == {"pending"}
    export = client.get("/admin/records/export.csv").get_data(as_text=True)
    assert len(export.strip().splitlines()) == 1  # the header only


def test_organizers_and_counter_staff_are_refused(build, client, auth):
    for user in (build.organizer(), build.staff("counter")):
        auth.login(user.username, PASSWORD)
        assert client.get("/admin/records").status_code == 403
        assert client.post("/admin/records/decision", data={"action": "approve"}).status_code == 403
        auth.logout()


def test_the_export_masks_names_unless_the_admin_chooses_the_full_export_which_is_audited(build, signed_in, admin):
    volunteer = build.volunteer(name="Li Lei")
    build.record(volunteer)

    masked = signed_in.get("/admin/records/export.csv?source=organizer")
    rows = list(csv.reader(io.StringIO(masked.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["Record", "Waiting since", "Days waiting", "Volunteer"]
    assert rows[1][3] == "L*****" and volunteer.volunteer.member_no not in masked.get_data(as_text=True)
    assert (
        db.session.execute(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "records.export_unmasked")
        ).scalar_one()
        == 0
    )

    full = signed_in.post("/admin/records/export.xlsx", data={"source": "organizer"})
    assert full.status_code == 200
    sheet = load_workbook(io.BytesIO(full.data)).active
    assert [cell.value for cell in sheet[2]][3:5] == ["Li Lei", volunteer.volunteer.member_no]
    db.session.expire_all()
    [event] = db.session.execute(select(AuditEvent).where(AuditEvent.action == "records.export_unmasked")).scalars()
    assert event.actor_id == admin.id and event.after == {"filter": {"source": "organizer"}}
