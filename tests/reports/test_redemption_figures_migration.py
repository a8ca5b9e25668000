"""The revision that keeps both monthly redemption figures in one table moves them over
and back: by home as they were, at the counter counted per perk from the redemptions."""

import os

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from points_service.extensions import db
from points_service.perks import service as perks
from tests.builders.perks import redeem_with_code, request_key, stars
from tests.databases import empty_database
from tests.reports.helpers import raw_figures, stored_figures

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "migrations")
BEFORE = "3e9a41c7d2b8"


@pytest.fixture
def database_url(tmp_path):
    with empty_database(tmp_path, "figures") as url:
        yield url


def _old_tables():
    perk_rows = db.session.execute(
        text("SELECT organization_id, month, perk_id, redemptions, points FROM report_perk_months")
    ).all()
    counter_rows = db.session.execute(
        text("SELECT organization_id, month, redemptions, points FROM report_counter_months")
    ).all()
    db.session.rollback()
    return sorted(tuple(row) for row in perk_rows), sorted(tuple(row) for row in counter_rows)


def test_the_figures_move_to_one_table_and_back_unchanged(app, build):
    upgrade(directory=MIGRATIONS)
    tree = build.tree()
    district, other_district = tree["districts"][0], tree["districts"][1]
    first = build.volunteer(tree["communities"][0], points=100)
    second = build.volunteer(tree["communities"][1], points=100)
    clerk, other_clerk = build.counter_clerk(district), build.counter_clerk(other_district)
    cheap = build.perk(points_cost=5, venues=[tree["city"]])
    dear = build.perk(points_cost=7, venues=[tree["city"]])
    redeem_with_code(clerk, district, first.volunteer.member_no, cheap.id, 1, request_key(), level_of=stars(0))
    redeem_with_code(clerk, district, first.volunteer.member_no, dear.id, 2, request_key(), level_of=stars(0))
    redeem_with_code(
        other_clerk, other_district, second.volunteer.member_no, cheap.id, 1, request_key(), level_of=stars(0)
    )
    handed = perks.reserve_perk(second, dear.id, 1, request_key(), level_of=stars(0))
    perks.fulfil_voucher(clerk, district, handed.voucher_code, request_key())
    perks.reserve_perk(first, cheap.id, 1, request_key(), level_of=stars(0))  # made, not handed over
    figures = raw_figures()
    assert stored_figures() == figures
    db.session.remove()

    downgrade(directory=MIGRATIONS, revision=BEFORE)
    perk_rows, counter_rows = _old_tables()
    by_home = {(o, str(m)[:10], k, n, p) for o, m, k, n, p in perk_rows}
    homes = {tree["communities"][0].id, tree["communities"][1].id}  # back then kept at the home only
    assert by_home == {
        (o, str(m), k, n, figures["perks"][(o, m, k, "points")])
        for (o, m, k, name), n in figures["perks"].items()
        if name == "redemptions" and o in homes
    }
    assert {(o, str(m)[:10], n, p) for o, m, n, p in counter_rows} == {
        (o, str(m), n, figures["counters"][(o, m, "points")])
        for (o, m, name), n in figures["counters"].items()
        if name == "redemptions"
    }

    upgrade(directory=MIGRATIONS)
    assert stored_figures() == raw_figures() == figures
