"""Honor roll definitions: periodic rolls of a subtree, quarters in local time, drafts of
closed periods only, exclusions with a reason, and the idempotent ``honor-draft-due``."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from points_service.audit.models import AuditEvent
from points_service.changes import service as changes
from points_service.errors import Conflict, NotFound, PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.honor import definitions
from points_service.honor import service as honor
from points_service.honor.models import HonorRoll, HonorRollDefinition, HonorRollExclusion, PublishedHonorRollChanged
from points_service.honor.service import HonorRollNotEditable, HonorRollNotReady
from tests.ledger.test_concurrency import run_concurrently

from .conftest import APRIL_FIRST_UTC, MARCH_FIRST_UTC, opt_out, serve

EARLY_APRIL = APRIL_FIRST_UTC + timedelta(hours=1)  # 1 April 2026, 01:00 in Asia/Shanghai
Q1 = date(2026, 1, 1)


def _audit(action):
    return db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


def _ranking(roll):
    return [(entry.rank, entry.display_name, entry.value) for entry in roll.entries]


@pytest.fixture
def admin(build, tree):
    return build.staff("admin", tree["city"])


# -- periods ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "kind", "start"),
    [
        (date(2026, 3, 31), "quarter", date(2026, 1, 1)),
        (date(2026, 4, 1), "quarter", date(2026, 4, 1)),
        (date(2026, 12, 31), "quarter", date(2026, 10, 1)),
        (date(2026, 8, 15), "month", date(2026, 8, 1)),
        (date(2026, 8, 15), "year", date(2026, 1, 1)),
    ],
)
def test_the_period_a_day_falls_in(day, kind, start):
    assert definitions.period_start_containing(kind, day) == start


def test_a_quarter_is_three_local_months_and_the_fourth_ends_at_new_year_in_asia_shanghai():
    starts, ends = honor.period_bounds("quarter", date(2026, 10, 1), "Asia/Shanghai")
    assert (starts, ends) == (datetime(2026, 9, 30, 16, 0), datetime(2026, 12, 31, 16, 0))
    assert honor.next_period_start("quarter", date(2026, 10, 1)) == date(2027, 1, 1)


def test_the_latest_closed_quarter_turns_over_at_local_midnight_across_the_year_boundary():
    new_year = datetime(2026, 12, 31, 16, 0)  # 1 January 2027, 00:00 in Asia/Shanghai
    last_minute = new_year - timedelta(minutes=1)
    assert definitions.closed_period_starts("quarter", "Asia/Shanghai", last_minute) == [date(2026, 7, 1)]
    assert definitions.closed_period_starts("quarter", "Asia/Shanghai", new_year) == [date(2026, 10, 1)]
    # At that UTC moment it is still 31 December in London: the fourth quarter runs there.
    assert definitions.closed_period_starts("quarter", "Europe/London", new_year) == [date(2026, 7, 1)]
    assert definitions.closed_period_starts("quarter", "Asia/Shanghai", new_year, count=3) == [
        date(2026, 10, 1),
        date(2026, 7, 1),
        date(2026, 4, 1),
    ]


def test_the_latest_closed_month_and_year():
    assert definitions.closed_period_starts("month", "Asia/Shanghai", EARLY_APRIL) == [date(2026, 3, 1)]
    assert definitions.closed_period_starts("year", "Asia/Shanghai", EARLY_APRIL) == [date(2025, 1, 1)]


# -- definitions -------------------------------------------------------------------------------------


def test_an_admin_defines_a_roll_of_their_subtree_and_it_is_audited(tree, admin):
    definition = definitions.create_honor_definition(admin, tree["districts"][0], "quarter", "points", 20)

    assert (definition.period_kind, definition.metric, definition.size) == ("quarter", "points", 20)
    assert definition.active and definition.name_style == "masked"
    (event,) = _audit("honor.define")
    assert event.actor_id == admin.id and event.before is None
    assert event.after == {
        "organization_id": tree["districts"][0].id,
        "period_kind": "quarter",
        "metric": "points",
        "size": 20,
        "name_style": "masked",
        "active": True,
    }


def test_a_second_definition_of_the_same_period_and_metric_is_refused(tree, admin):
    definitions.create_honor_definition(admin, tree["city"], "month", "hours", 10)
    with pytest.raises(Conflict) as refused:
        definitions.create_honor_definition(admin, tree["city"], "month", "hours", 5)
    assert refused.value.details["field"] == "period_kind"
    assert definitions.create_honor_definition(admin, tree["city"], "month", "points", 5).metric == "points"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (("week", "hours", 10), "period_kind"),
        (("month", "minutes", 10), "metric"),
        (("month", "hours", 0), "size"),
        (("month", "hours", 101), "size"),
    ],
)
def test_a_bad_definition_names_the_field_and_writes_nothing(tree, admin, arguments, field):
    with pytest.raises(ValidationError) as refused:
        definitions.create_honor_definition(admin, tree["city"], *arguments)
    assert refused.value.details["field"] == field
    assert db.session.execute(select(func.count(HonorRollDefinition.id))).scalar_one() == 0


def test_changing_a_definition_is_audited_with_before_and_after(tree, admin):
    definition = definitions.create_honor_definition(admin, tree["city"], "month", "hours", 10)

    definitions.update_honor_definition(admin, definition.id, size=5, name_style="full", active=False)

    (event,) = _audit("honor.redefine")
    assert event.actor_id == admin.id
    assert (event.before["size"], event.before["name_style"], event.before["active"]) == (10, "masked", True)
    assert (event.after["size"], event.after["name_style"], event.after["active"]) == (5, "full", False)


def test_another_districts_admin_neither_sees_nor_changes_a_definition(build, tree, admin):
    definition = definitions.create_honor_definition(admin, tree["districts"][0], "month", "hours", 10)
    outsider = build.staff("admin", tree["districts"][1])

    assert definitions.list_honor_definitions(outsider) == []
    with pytest.raises(NotFound):
        definitions.get_honor_definition(outsider, definition.id)
    with pytest.raises(NotFound):
        definitions.update_honor_definition(outsider, definition.id, size=1, name_style="full", active=False)
    with pytest.raises(NotFound):
        definitions.compute_definition_draft(outsider, definition.id, date(2026, 3, 1), now=EARLY_APRIL)
    with pytest.raises(PermissionDenied):
        definitions.create_honor_definition(outsider, tree["districts"][0], "year", "hours", 10)
    db.session.expire_all()
    assert db.session.get(HonorRollDefinition, definition.id).size == 10
    assert db.session.execute(select(func.count(HonorRoll.id))).scalar_one() == 0


# -- drafts of closed periods --------------------------------------------------------------------------


def test_a_draft_is_computed_for_a_closed_quarter_with_the_definitions_settings(build, tree, admin):
    serve(build, build.volunteer(name="张三丰"), MARCH_FIRST_UTC + timedelta(days=3), minutes=90)
    serve(build, build.volunteer(name="李四"), MARCH_FIRST_UTC - timedelta(days=20), minutes=30)
    definition = definitions.create_honor_definition(admin, tree["city"], "quarter", "hours", 1)

    roll = definitions.compute_definition_draft(admin, definition.id, "2026-01-01", now=EARLY_APRIL)

    assert (roll.definition_id, roll.period_kind, roll.period_start, roll.status) == (
        definition.id,
        "quarter",
        Q1,
        "draft",
    )
    assert _ranking(roll) == [(1, "张**", 90)]
    assert definitions.list_honor_rolls(admin, definition=definition) == [roll]


def test_a_period_that_has_not_ended_is_refused_with_the_day_it_can_be_computed(tree, admin):
    definition = definitions.create_honor_definition(admin, tree["city"], "quarter", "hours", 10)
    last_minute_of_march = APRIL_FIRST_UTC - timedelta(minutes=1)

    with pytest.raises(HonorRollNotReady) as refused:
        definitions.compute_definition_draft(admin, definition.id, Q1, now=last_minute_of_march)

    message = refused.value.render_message()
    assert "2026-03-31" in message and "2026-04-01" in message and "Asia/Shanghai" in message
    assert refused.value.details["field"] == "period_start"
    assert db.session.execute(select(func.count(HonorRoll.id))).scalar_one() == 0


def test_a_published_period_cannot_be_computed_again(build, tree, admin):
    definition = definitions.create_honor_definition(admin, tree["city"], "month", "hours", 10)
    serve(build, build.volunteer(name="Once"), MARCH_FIRST_UTC + timedelta(days=1))
    roll = definitions.compute_definition_draft(admin, definition.id, date(2026, 3, 1))
    request = honor.request_honor_roll_publication(admin, roll.id)
    changes.approve_change(build.staff("admin", tree["city"]), request.id)

    with pytest.raises(HonorRollNotEditable):
        definitions.compute_definition_draft(admin, definition.id, date(2026, 3, 1))


# -- exclusions -----------------------------------------------------------------------------------------


@pytest.fixture
def march_draft(build, tree, admin):
    for number, minutes in enumerate((300, 200, 100, 50)):
        serve(build, build.volunteer(name=f"Vol{number}"), MARCH_FIRST_UTC + timedelta(days=1 + number), minutes)
    definition = definitions.create_honor_definition(admin, tree["city"], "month", "hours", 3)
    return definitions.compute_definition_draft(admin, definition.id, date(2026, 3, 1), now=EARLY_APRIL)


def test_excluding_an_entry_records_the_reason_and_the_ranks_close_up(admin, march_draft):
    second = march_draft.entries[1]
    version = march_draft.version

    roll = honor.exclude_from_honor_roll(
        admin, march_draft.id, second.id, "  Complaint   under review ", version=march_draft.version
    )

    assert _ranking(roll) == [(1, "V***", 300), (2, "V***", 100), (3, "V***", 50)]
    (exclusion,) = roll.exclusions
    assert (exclusion.rank, exclusion.value, exclusion.reason) == (2, 200, "Complaint under review")
    assert exclusion.excluded_by_id == admin.id and roll.version == version + 1
    (event,) = _audit("honor.exclude")
    assert event.actor_id == admin.id and event.before["entries"] == 3
    assert event.after["excluded"] == {"volunteer_id": exclusion.volunteer_id, "rank": 2, "reason": exclusion.reason}


def test_a_recomputed_draft_keeps_its_exclusions(admin, march_draft):
    excluded = march_draft.entries[0]
    honor.exclude_from_honor_roll(admin, march_draft.id, excluded.id, "Duplicate account", version=march_draft.version)

    again = definitions.compute_definition_draft(admin, march_draft.definition_id, date(2026, 3, 1))

    assert excluded.volunteer_id not in {entry.volunteer_id for entry in again.entries}
    assert [entry.value for entry in again.entries] == [200, 100, 50]


def test_the_reviewer_is_shown_the_exclusions_with_their_reasons(build, tree, admin, march_draft):
    honor.exclude_from_honor_roll(
        admin, march_draft.id, march_draft.entries[0].id, "Hours under review", version=march_draft.version
    )
    request = honor.request_honor_roll_publication(admin, march_draft.id)

    assert {"field": "excluded", "before": "1. V*** · 300 min", "after": "Hours under review"} in request.diff
    changes.approve_change(build.staff("admin", tree["city"]), request.id)
    published = honor.get_published_honor_roll(march_draft.id)
    assert [entry.value for entry in honor.public_entries(published)] == [200, 100, 50]


def test_an_exclusion_needs_a_reason_and_the_draft_as_the_admin_saw_it(admin, march_draft):
    entry_id = march_draft.entries[0].id
    with pytest.raises(ValidationError) as refused:
        honor.exclude_from_honor_roll(admin, march_draft.id, entry_id, "   ", version=march_draft.version)
    assert refused.value.details["field"] == "reason"
    with pytest.raises(ValidationError):
        honor.exclude_from_honor_roll(admin, march_draft.id, entry_id, "x" * 256, version=march_draft.version)

    honor.exclude_from_honor_roll(admin, march_draft.id, entry_id, "Asked to be left off", version=march_draft.version)
    with pytest.raises(Conflict, match="recomputed since the page was loaded"):
        honor.exclude_from_honor_roll(admin, march_draft.id, entry_id, "Again", version=march_draft.version - 1)
    assert db.session.execute(select(func.count(HonorRollExclusion.id))).scalar_one() == 1


def test_a_published_roll_takes_no_exclusion(build, tree, admin, march_draft):
    request = honor.request_honor_roll_publication(admin, march_draft.id)
    changes.approve_change(build.staff("admin", tree["city"]), request.id)

    with pytest.raises(HonorRollNotEditable):
        honor.exclude_from_honor_roll(
            admin, march_draft.id, march_draft.entries[0].id, "Too late", version=march_draft.version
        )
    db.session.add(
        HonorRollExclusion(roll_id=march_draft.id, volunteer_id=1, rank=1, display_name="x", value=1, reason="r")
    )
    with pytest.raises(PublishedHonorRollChanged):
        db.session.flush()
    db.session.rollback()


def test_another_districts_admin_cannot_exclude(build, tree, march_draft):
    outsider = build.staff("admin", tree["districts"][1])
    with pytest.raises(PermissionDenied):
        honor.exclude_from_honor_roll(
            outsider, march_draft.id, march_draft.entries[0].id, "No", version=march_draft.version
        )
    db.session.expire_all()
    assert db.session.get(HonorRoll, march_draft.id).exclusions == []


def test_the_reviewer_sees_who_is_left_out_because_they_opted_out(build, tree, admin):
    shy = build.volunteer(name="Shy Person")
    serve(build, shy, MARCH_FIRST_UTC + timedelta(days=1), minutes=500)
    serve(build, build.volunteer(name="Open"), MARCH_FIRST_UTC + timedelta(days=1), minutes=60)
    opt_out(shy)
    definition = definitions.create_honor_definition(admin, tree["city"], "month", "hours", 10)

    roll = definitions.compute_definition_draft(admin, definition.id, date(2026, 3, 1), now=EARLY_APRIL)

    assert [entry.display_name for entry in roll.entries] == ["O***"]
    assert honor.left_out_for_opting_out(roll) == [
        {"rank": 1, "display_name": "S*********", "value": 500, "home_community": shy.volunteer.home_organization.name}
    ]


# -- honor-draft-due ------------------------------------------------------------------------------------


def test_draft_due_computes_each_active_definitions_latest_closed_period_once(build, tree, admin):
    serve(build, build.volunteer(name="Due"), MARCH_FIRST_UTC + timedelta(days=1))
    monthly = definitions.create_honor_definition(admin, tree["city"], "month", "hours", 10)
    quarterly = definitions.create_honor_definition(admin, tree["city"], "quarter", "points", 10)
    paused = definitions.create_honor_definition(admin, tree["city"], "year", "hours", 10)
    definitions.update_honor_definition(admin, paused.id, size=10, name_style="masked", active=False)

    first = definitions.draft_due_rolls(now=EARLY_APRIL)
    second = definitions.draft_due_rolls(now=EARLY_APRIL)

    assert [(due.definition_id, due.period_start, due.outcome) for due in first] == [
        (monthly.id, date(2026, 3, 1), "computed"),
        (quarterly.id, Q1, "computed"),
    ]
    assert [due.outcome for due in second] == ["exists", "exists"]
    rolls = db.session.execute(select(HonorRoll).order_by(HonorRoll.id)).scalars().all()
    assert [(roll.definition_id, roll.version) for roll in rolls] == [(monthly.id, 1), (quarterly.id, 1)]
    assert len(_audit("honor.compute")) == 2


def test_two_draft_due_runs_at_once_make_one_roll(app, build, tree, admin):
    serve(build, build.volunteer(name="Race"), MARCH_FIRST_UTC + timedelta(days=1))
    definitions.create_honor_definition(admin, tree["city"], "month", "hours", 10)
    db.session.commit()

    results = run_concurrently(app, 2, lambda _index: definitions.draft_due_rolls(now=EARLY_APRIL))

    outcomes = sorted(due.outcome for run in results for due in run)
    assert outcomes in (["computed", "exists"], ["computed", "raced"]), results
    db.session.expire_all()
    assert db.session.execute(select(func.count(HonorRoll.id))).scalar_one() == 1
    assert len(_audit("honor.compute")) == 1


def test_the_command_computes_due_drafts_audited_as_the_command_line(build, runner, tree, admin):
    definitions.create_honor_definition(admin, tree["city"], "month", "hours", 10)

    first = runner.invoke(args=["points", "honor-draft-due", "--actor", "cron"])
    again = runner.invoke(args=["points", "honor-draft-due", "--actor", "cron"])

    assert first.exit_code == 0, first.output
    assert "draft computed" in first.output and "1 new draft(s) for 1 active definition(s)" in first.output
    assert "already has a roll" in again.output and "0 new draft(s)" in again.output
    (event,) = _audit("honor.compute")
    assert event.actor_id is None and event.actor_label == "cli:cron"
