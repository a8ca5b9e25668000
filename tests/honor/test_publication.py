"""Publishing an honor roll: a request, a second administrator's approval, and never
before the period has ended in the organization's time zone (a running month was once
published empty and frozen). Drafts are previews, recomputed until published; volunteers
who opted out never appear."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from points_service.audit.models import AuditEvent
from points_service.changes import service as changes
from points_service.errors import Conflict, NotFound, PermissionDenied
from points_service.extensions import db
from points_service.honor import service as honor
from points_service.honor.models import HonorRoll
from points_service.honor.service import HonorRollNotEditable, HonorRollNotReady
from points_service.timeutil import to_local, utcnow

from .conftest import APRIL_FIRST_UTC, MARCH_FIRST_UTC, opt_out, serve

MARCH = date(2026, 3, 1)
MID_MARCH = datetime(2026, 3, 20, 2, 0)
LAST_MINUTE_OF_MARCH = APRIL_FIRST_UTC - timedelta(minutes=1)  # 31 March 23:59 in Asia/Shanghai
EARLY_APRIL = APRIL_FIRST_UTC + timedelta(minutes=30)  # 1 April 00:30 in Asia/Shanghai


@pytest.fixture
def admins(build, tree):
    return build.staff("admin", tree["city"]), build.staff("admin", tree["city"])


def test_a_running_month_is_a_preview_and_is_published_only_after_it_ends_in_local_time(build, tree, admins):
    author, reviewer = admins
    serve(build, build.volunteer(name="Early"), MARCH_FIRST_UTC + timedelta(days=2), minutes=60)
    preview = honor.compute_honor_roll(author, tree["city"], "month", MARCH, "hours", 10, now=MID_MARCH)
    assert preview.status == "draft" and not honor.period_has_ended(preview, MID_MARCH)

    for moment in (MID_MARCH, LAST_MINUTE_OF_MARCH):
        with pytest.raises(HonorRollNotReady) as refused:
            honor.request_honor_roll_publication(author, preview.id, now=moment)
        assert "2026-03-31" in refused.value.render_message() and "2026-04-01" in refused.value.render_message()
        assert "Asia/Shanghai" in refused.value.render_message()

    # The month has ended, but this draft was computed before: it would miss the last days.
    assert honor.period_has_ended(preview, APRIL_FIRST_UTC)
    with pytest.raises(HonorRollNotReady, match="recompute"):
        honor.request_honor_roll_publication(author, preview.id, now=EARLY_APRIL)

    serve(build, build.volunteer(name="Late"), APRIL_FIRST_UTC - timedelta(hours=2), minutes=90)  # 31 March evening
    final = honor.compute_honor_roll(author, tree["city"], "month", MARCH, "hours", 10, now=EARLY_APRIL)
    request = honor.request_honor_roll_publication(author, final.id, now=EARLY_APRIL)
    assert db.session.get(HonorRoll, final.id).status == "draft"
    changes.approve_change(reviewer, request.id, now=EARLY_APRIL)

    roll = honor.get_published_honor_roll(final.id)
    assert [entry.display_name for entry in roll.entries] == ["L***", "E****"]
    assert (roll.published_at, roll.published_by_id) == (EARLY_APRIL, reviewer.id)
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "honor.publish")).scalar_one()
    assert event.actor_id == reviewer.id and event.after["requested_by"] == author.id


def test_the_current_month_cannot_be_published_even_when_nobody_served_yet(tree, admins):
    author, _reviewer = admins
    this_month = to_local(utcnow(), "Asia/Shanghai").date().replace(day=1)
    empty = honor.compute_honor_roll(author, tree["city"], "month", this_month, "points", 10)

    assert empty.entries == []
    with pytest.raises(HonorRollNotReady):
        honor.request_honor_roll_publication(author, empty.id)
    assert changes.list_change_requests(author) == []


def test_a_yearly_roll_waits_for_new_year_in_the_organizations_time_zone(build, tree, admins):
    author, reviewer = admins
    new_year_utc = datetime(2026, 12, 31, 16, 0)  # 2027-01-01 00:00 in Asia/Shanghai
    serve(build, build.volunteer(name="Steady"), MARCH_FIRST_UTC, minutes=60)
    roll = honor.compute_honor_roll(
        author, tree["city"], "year", date(2026, 1, 1), "hours", 10, now=new_year_utc - timedelta(hours=1)
    )
    with pytest.raises(HonorRollNotReady, match="2026-12-31"):
        honor.request_honor_roll_publication(author, roll.id, now=new_year_utc - timedelta(seconds=1))

    roll = honor.compute_honor_roll(author, tree["city"], "year", date(2026, 1, 1), "hours", 10, now=new_year_utc)
    request = honor.request_honor_roll_publication(author, roll.id, now=new_year_utc)
    changes.approve_change(reviewer, request.id, now=new_year_utc)
    assert honor.get_published_honor_roll(roll.id).entries[0].display_name == "S*****"


def test_publishing_needs_a_second_administrator_of_the_subtree(build, tree, admins):
    author, _reviewer = admins
    serve(build, build.volunteer(), MARCH_FIRST_UTC + timedelta(days=1))
    draft = build.honor_roll(tree["city"], publish=False)
    request = honor.request_honor_roll_publication(author, draft.id)

    with pytest.raises(changes.SecondPersonRequired):
        changes.approve_change(author, request.id)
    with pytest.raises(PermissionDenied):
        honor.request_honor_roll_publication(build.staff("organizer", tree["city"]), draft.id)
    with pytest.raises(changes.RequestAlreadyPending):
        honor.request_honor_roll_publication(build.staff("admin", tree["city"]), draft.id)
    district_admin = build.staff("admin", tree["districts"][0])
    with pytest.raises(NotFound):
        changes.approve_change(district_admin, request.id)
    assert db.session.get(HonorRoll, draft.id).status == "draft"


def test_drafts_are_recomputed_until_published_and_a_recompute_voids_the_pending_approval(build, tree, admins):
    author, reviewer = admins
    serve(build, build.volunteer(name="First"), MARCH_FIRST_UTC + timedelta(days=1), minutes=60)
    draft = honor.compute_honor_roll(author, tree["city"], "month", MARCH, "hours", 10)
    request = honor.request_honor_roll_publication(author, draft.id)

    serve(build, build.volunteer(name="Second"), MARCH_FIRST_UTC + timedelta(days=2), minutes=120)
    again = honor.compute_honor_roll(author, tree["city"], "month", MARCH, "hours", 10)
    assert again.id == draft.id and again.version == 2
    assert [entry.display_name for entry in again.entries] == ["S*****", "F****"]

    with pytest.raises(Conflict, match="recomputed"):
        changes.approve_change(reviewer, request.id)
    assert db.session.get(HonorRoll, draft.id).status == "draft"

    changes.reject_change(reviewer, request.id, "The ranking changed; ask again.")
    changes.approve_change(reviewer, honor.request_honor_roll_publication(author, draft.id).id)
    assert honor.get_published_honor_roll(draft.id).version == 2
    with pytest.raises(HonorRollNotEditable):
        honor.compute_honor_roll(author, tree["city"], "month", MARCH, "hours", 10)


def test_a_volunteer_who_opted_out_after_the_draft_keeps_it_from_being_published(build, tree, admins):
    author, reviewer = admins
    shy = build.volunteer(name="Shy")
    serve(build, shy, MARCH_FIRST_UTC + timedelta(days=1), minutes=60)
    serve(build, build.volunteer(name="Open"), MARCH_FIRST_UTC + timedelta(days=1), minutes=30)
    draft = honor.compute_honor_roll(author, tree["city"], "month", MARCH, "hours", 10)
    request = honor.request_honor_roll_publication(author, draft.id)
    opt_out(shy)

    with pytest.raises(HonorRollNotReady, match=r"opted out of public lists since it was computed \(1\)"):
        changes.approve_change(reviewer, request.id)
    changes.reject_change(reviewer, request.id, "Someone opted out.")

    draft = honor.compute_honor_roll(author, tree["city"], "month", MARCH, "hours", 10)
    changes.approve_change(reviewer, honor.request_honor_roll_publication(author, draft.id).id)
    assert [entry.display_name for entry in honor.get_published_honor_roll(draft.id).entries] == ["O***"]


def test_a_volunteer_who_opts_out_after_publication_disappears_from_the_public_roll(build, client, tree):
    later = build.volunteer(name="Later")
    serve(build, later, MARCH_FIRST_UTC + timedelta(days=1), minutes=60)
    serve(build, build.volunteer(name="Stays"), MARCH_FIRST_UTC + timedelta(days=1), minutes=30)
    roll = build.honor_roll(tree["city"])
    opt_out(later)

    assert [entry.display_name for entry in honor.public_entries(roll)] == ["S****"]
    body = client.get(f"/api/v1/honor-rolls/{roll.id}").get_json()
    assert [entry["display_name"] for entry in body["entries"]] == ["S****"]
    page = client.get(f"/honor/{roll.id}").get_data(as_text=True)
    assert "S****" in page and "L****" not in page
    # The snapshot itself is unchanged.
    assert db.session.execute(select(func.count()).select_from(HonorRoll)).scalar_one() == 1
    assert len(db.session.get(HonorRoll, roll.id).entries) == 2
