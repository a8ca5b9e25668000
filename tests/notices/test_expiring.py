"""``points expiry-notices``: one notice per volunteer for each moment some of their points
expire within their community's warning period; a second run, or two at once, leave
nothing twice."""

from datetime import timedelta

from sqlalchemy import func, select

from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.notices.expiring import leave_expiry_notices
from points_service.notices.models import Notice
from points_service.organizations.settings import set_setting
from points_service.timeutil import utcnow
from tests.builders import PASSWORD
from tests.builders.threads import run_concurrently

NOW = utcnow().replace(microsecond=0)


def _earn(build, volunteer, points, expires_in_days):
    expires_at = NOW + timedelta(days=expires_in_days)
    ledger.earn_points(build.account(volunteer).id, points, reason="test earning", expires_at=expires_at)
    return expires_at


def _notices(user):
    mine = select(Notice.params).where(Notice.user_id == user.id).order_by(Notice.id)
    return db.session.execute(mine).scalars().all()


def test_each_volunteer_is_told_once_of_each_moment_their_points_expire_within_the_warning_period(
    build, runner, client, auth
):
    soon = build.volunteer(mobile="13900000001")
    moment = _earn(build, soon, 30, expires_in_days=10)
    _earn(build, soon, 12, expires_in_days=10)  # a second lot expiring at the same moment
    _earn(build, soon, 50, expires_in_days=90)  # beyond the 60 days' warning
    later = build.volunteer()
    _earn(build, later, 40, expires_in_days=200)
    elsewhere = build.volunteer(community=build.tree()["communities"][2])
    set_setting(None, build.tree()["districts"][1], "expiry_warning_days", 0)  # this district warns nobody
    _earn(build, elsewhere, 20, expires_in_days=5)

    first = runner.invoke(args=["points", "expiry-notices"])
    second = runner.invoke(args=["points", "expiry-notices"])

    assert first.exit_code == 0, first.output
    assert first.output == "left 1 notices of points about to expire\n"
    assert second.output == "left 0 notices of points about to expire\n"
    assert [(facts["points"], facts["expires_at"]) for facts in _notices(soon)] == [(42, moment.isoformat())]
    assert _notices(later) == [] and _notices(elsewhere) == []
    auth.login("13900000001", PASSWORD)
    home = client.get("/me/").get_data(as_text=True)
    assert home.count("42 points expire on") == 2  # the notice, and the warning beside the balance
    assert "use them for a perk before then." in home


def test_two_expiry_notice_runs_at_once_leave_one_notice_per_volunteer_and_moment(app, build):
    volunteers = [build.volunteer() for _ in range(3)]
    for volunteer in volunteers:
        _earn(build, volunteer, 10, expires_in_days=3)
        _earn(build, volunteer, 10, expires_in_days=30)
    db.session.commit()

    results = run_concurrently(app, [leave_expiry_notices, leave_expiry_notices])

    assert not [result for result in results if isinstance(result, Exception)], results
    assert sorted(results) == [0, 6]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Notice.id))) == 6
