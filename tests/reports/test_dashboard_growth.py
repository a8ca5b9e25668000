"""The dashboard of a node reads that node's own monthly figures: the work it takes does
not grow with the communities below it that have figures. (Its figures of the present
moment, points outstanding, expiring and the backlog, read the subtree's balances, lots
and pending records: they are left out here.)"""

from contextlib import contextmanager
from datetime import timedelta

import pytest

from points_service.extensions import db
from points_service.organizations.service import create_organization
from points_service.reports import service as reports
from points_service.timeutil import utcnow


@contextmanager
def sqlite_steps():
    """How many virtual machine instructions SQLite runs inside the block:
    the work of the statements, however many rows they hand back."""
    connection = db.session.connection().connection.driver_connection
    steps = [0]

    def step():
        steps[0] += 1
        return 0

    connection.set_progress_handler(step, 1)
    try:
        yield steps
    finally:
        connection.set_progress_handler(None, 0)


def test_the_figures_of_fifty_more_communities_add_no_work_to_the_citys_dashboard(build, monkeypatch):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("counts SQLite's instructions")
    for present in ("points_outstanding", "points_expiring", "approval_backlog"):
        monkeypatch.setattr(reports, present, lambda organization, now: None)
    tree = build.tree()
    city, street = tree["city"], tree["streets"][0]
    volunteer = build.volunteer(points=50)
    # the middle of last month: all the records below fall in that one month
    first_start = (utcnow().replace(day=1) - timedelta(days=15)).replace(hour=12, minute=0, second=0, microsecond=0)
    slots = iter(range(1000))
    months = reports.month_span(*reports.default_range(city))
    admin = build.staff("admin", city)

    def with_figures(communities):
        for community in communities:
            for category in ("elderly_care", "patrol"):
                started = first_start - timedelta(minutes=6 * next(slots))  # never overlapping
                build.approved_record(
                    volunteer, organization=community, started_at=started, minutes=5, category=category
                )

    def work():
        db.session.expire_all()
        with sqlite_steps() as steps:
            dashboard = reports.build_dashboard(admin, city, months)
        return steps[0], sum(records for records, _minutes, _points in dashboard.service.values())

    with_figures(tree["communities"])
    # the nodes themselves are looked up (the backlog and the balances are per node)...
    fifty = [create_organization(f"New community {n}", "community", street) for n in range(50)]
    without_figures, records = work()
    # ...their months of service are not: the city's rows already add them up
    with_figures(fifty)
    with_their_figures, more_records = work()

    assert (records, more_records) == (8, 108)
    assert with_their_figures <= without_figures, (without_figures, with_their_figures)
