"""Backtests in the background: a run is queued, worked on by a thread with its own
session, shows its progress, and ends with the figures the inline backtest gives; a run
whose worker stopped reporting is shown as interrupted; asking twice reuses a running
run; another community's run is not found."""

import copy
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from points_service.activities import service as activities
from points_service.extensions import db
from points_service.rules import service as rules
from points_service.rules.models import BacktestRun
from points_service.timeutil import to_local, utcnow
from tests.builders import PASSWORD


@pytest.fixture
def app_config():
    return {"BACKTEST_IN_BACKGROUND": True}


@pytest.fixture
def city(build):
    return build.tree()["city"]


@pytest.fixture
def admin(build, city, auth):
    user = build.staff("admin", city)
    auth.login(user.username, PASSWORD)
    return user


@pytest.fixture
def draft(build, admin, city):
    """A draft paying elderly care 20 instead of 10 points an hour, and two volunteers'
    approved records of the past week under the plain table."""
    for name, days_ago in (("Li Si", 3), ("Wang Wu", 4), ("Li Si", 5)):
        started = (utcnow() - timedelta(days=days_ago)).replace(hour=2, minute=0, second=0, microsecond=0)
        build.approved_record(build.volunteer(name=name), started_at=started, minutes=120)
    config = copy.deepcopy(build.service_rules().config)
    config["rates"]["elderly_care"]["points"] = 20
    draft = rules.create_rule_set(admin, city, config)
    db.session.commit()
    return draft


def _period(draft):
    yesterday = to_local(utcnow(), draft.organization.timezone).date() - timedelta(days=1)
    return yesterday - timedelta(days=30), yesterday


def _run(draft, admin, **values):
    """A run row as a worker would have left it (for states a test cannot wait for)."""
    first_day, last_day = _period(draft)
    now = utcnow()
    run = BacktestRun(
        rule_set_id=draft.id,
        rule_set_revision=draft.revision,
        organization_id=draft.organization_id,
        requested_by_id=admin.id,
        first_day=first_day,
        last_day=last_day,
        created_at=now,
        heartbeat_at=now,
        **values,
    )
    db.session.add(run)
    db.session.commit()
    return run


def _join_workers():
    """Wait (bounded) for the backtest threads that requests started."""
    for thread in threading.enumerate():
        if thread.name.startswith("backtest-"):
            thread.join(timeout=60)
            assert not thread.is_alive()


def _runs():
    db.session.rollback()  # end this test's read snapshot: the worker wrote meanwhile
    return db.session.execute(select(func.count(BacktestRun.id))).scalar_one()


def test_a_run_finishes_in_a_background_thread_with_the_figures_of_the_inline_backtest(client, admin, draft):
    first_day, last_day = _period(draft)
    run, thread = activities.request_backtest(admin, draft, first_day, last_day)
    assert thread is not None
    thread.join(timeout=60)
    assert not thread.is_alive()
    db.session.rollback()  # end this test's read snapshot: the worker wrote meanwhile
    finished = db.session.get(BacktestRun, run.id)
    assert finished.status == "done" and finished.finished_at is not None
    assert finished.done_count == finished.total_count == 3

    inline = activities.backtest_draft(admin, draft, first_day, last_day, now=run.created_at)
    assert activities.backtest_from_json(finished.result) == inline
    assert inline.simulation.points_before == 60 and inline.simulation.points_after == 120

    page = client.get(f"/admin/rules/{draft.id}/backtests/{run.id}").get_data(as_text=True)
    assert 'data-testid="points-before">60<' in page and 'data-testid="difference">+60<' in page
    assert "data:image/svg+xml" in page and "chart-table" in page
    assert "L*" in page and "Li Si" not in page  # names masked, as on every staff page
    assert 'http-equiv="refresh"' not in page


def test_asking_for_a_backtest_answers_at_once_with_the_page_of_its_run(client, admin, draft):
    first_day, last_day = _period(draft)
    data = {"first_day": first_day.isoformat(), "last_day": last_day.isoformat()}
    response = client.post(f"/admin/rules/{draft.id}/backtests", data=data)
    assert response.status_code == 303
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    _join_workers()  # the request has returned; its worker thread goes on
    db.session.rollback()  # end this test's read snapshot: the worker wrote meanwhile
    assert db.session.get(BacktestRun, run_id).status == "done"
    assert 'data-testid="points-after">120<' in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_page_of_a_running_backtest_shows_its_progress_and_refreshes_itself(client, admin, draft):
    run = _run(draft, admin, status="running", done_count=4000, total_count=10000)
    page = client.get(f"/admin/rules/{draft.id}/backtests/{run.id}").get_data(as_text=True)
    assert '<progress id="backtest-progress" max="10000" value="4000">' in page
    assert "Rated 4000 of 10000 records (40%)" in page
    assert '<meta http-equiv="refresh" content="2">' in page
    assert 'data-testid="backtest"' not in page


def test_a_run_whose_worker_stopped_reporting_is_shown_as_interrupted_with_a_button_to_run_again(client, admin, draft):
    run = _run(draft, admin, status="running", done_count=10, total_count=100)
    run.heartbeat_at = utcnow() - timedelta(minutes=10)
    db.session.commit()
    page = client.get(f"/admin/rules/{draft.id}/backtests/{run.id}").get_data(as_text=True)
    assert "interrupted before it finished" in page and "Run it again" in page
    assert 'http-equiv="refresh"' not in page and "<progress" not in page
    # Running it again makes a new run: an interrupted one is never reused.
    data = {"first_day": run.first_day.isoformat(), "last_day": run.last_day.isoformat()}
    response = client.post(f"/admin/rules/{draft.id}/backtests", data=data)
    assert not response.headers["Location"].endswith(f"/backtests/{run.id}") and _runs() == 2
    _join_workers()


def test_asking_again_while_a_run_of_the_same_draft_and_period_works_reuses_it(client, admin, draft):
    run = _run(draft, admin, status="running", done_count=1, total_count=3)
    data = {"first_day": run.first_day.isoformat(), "last_day": run.last_day.isoformat()}
    response = client.post(f"/admin/rules/{draft.id}/backtests", data=data)
    assert response.headers["Location"].endswith(f"/admin/rules/{draft.id}/backtests/{run.id}")
    assert _runs() == 1
    other = {"first_day": (run.first_day - timedelta(days=1)).isoformat(), "last_day": data["last_day"]}
    client.post(f"/admin/rules/{draft.id}/backtests", data=other)
    assert _runs() == 2  # another period is another run
    _join_workers()


def test_another_communitys_run_is_not_found(client, build, auth):
    communities = build.tree()["communities"]
    build.service_rules()
    owner = build.staff("admin", communities[0])
    draft = rules.create_rule_set(owner, communities[0])
    run = _run(draft, owner, status="done", result=None, done_count=0, total_count=0)
    other_draft = rules.create_rule_set(owner, communities[0])
    db.session.commit()
    outsider = build.staff("admin", communities[3])
    auth.login(outsider.username, PASSWORD)
    assert client.get(f"/admin/rules/{draft.id}/backtests/{run.id}").status_code == 404
    response = client.post(f"/admin/rules/{draft.id}/backtests", data={"first_day": "2026-01-01"})
    assert response.status_code == 404 and _runs() == 1
    auth.logout()
    auth.login(owner.username, PASSWORD)
    # A run is found only under its own rule set.
    assert client.get(f"/admin/rules/{other_draft.id}/backtests/{run.id}").status_code == 404


def test_the_reviewer_sees_a_link_to_the_latest_finished_run_of_the_table_asked_for(client, build, admin, draft, auth):
    draft = rules.update_draft(admin, draft, effective_from=(utcnow() + timedelta(days=30)).date())
    first_day, last_day = _period(draft)
    older, thread = activities.request_backtest(admin, draft, first_day - timedelta(days=1), last_day)
    thread.join(timeout=60)
    run, thread = activities.request_backtest(admin, draft, first_day, last_day)
    thread.join(timeout=60)
    change = rules.request_rule_set_publication(admin, draft)
    reviewer = build.staff("admin", draft.organization)
    auth.logout()
    auth.login(reviewer.username, PASSWORD)
    page = client.get(f"/admin/approvals/{change.id}").get_data(as_text=True)
    assert f"/admin/rules/{draft.id}/backtests/{run.id}" in page
    assert f"/backtests/{older.id}" not in page


def test_a_run_of_an_earlier_revision_is_not_offered_to_the_reviewer(client, build, admin, draft, auth):
    first_day, last_day = _period(draft)
    _run, thread = activities.request_backtest(admin, draft, first_day, last_day)
    thread.join(timeout=60)
    draft = rules.update_draft(admin, draft, effective_from=(utcnow() + timedelta(days=30)).date())
    change = rules.request_rule_set_publication(admin, draft)
    reviewer = build.staff("admin", draft.organization)
    auth.logout()
    auth.login(reviewer.username, PASSWORD)
    assert 'data-testid="latest-backtest"' not in client.get(f"/admin/approvals/{change.id}").get_data(as_text=True)
