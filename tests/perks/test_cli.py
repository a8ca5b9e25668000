"""perk-add, perk-list and perk-stock: a catalog an operator can build before the admin pages."""

from datetime import datetime

import pytest

from points_service.audit.models import AuditEvent
from points_service.perks.models import Perk


def test_perk_add_creates_a_perk_that_perk_list_shows_and_perk_stock_refills(runner, build):
    tree = build.tree()
    district = tree["districts"][0]
    result = runner.invoke(
        args=[
            "points",
            "perk-add",
            "Rice 5 kg",
            "--kind",
            "goods",
            "--org",
            tree["city"].name,
            "--venue",
            district.name,
            "--venue",
            str(tree["districts"][1].id),
            "--points",
            "80",
            "--copay",
            "500",
            "--stock",
            "3",
            "--limit",
            "1/month",
            "--min-stars",
            "1",
            "--valid-from",
            "2026-01-01",
            "--valid-until",
            "2026-12-31",
        ]
    )
    assert result.exit_code == 0, result.output
    perk = Perk.query.one()
    assert (perk.points_cost, perk.copay_amount, perk.stock, perk.limit_quantity, perk.limit_period) == (
        80,
        500,
        3,
        1,
        "month",
    )
    assert perk.min_stars == 1
    # Local days in Asia/Shanghai (UTC+8): from 2026-01-01 00:00 to the end of 2026-12-31.
    assert perk.valid_from == datetime(2025, 12, 31, 16, 0)
    assert perk.valid_until == datetime(2026, 12, 31, 16, 0)
    assert {venue.organization_id for venue in perk.venues} == {district.id, tree["districts"][1].id}

    listing = runner.invoke(args=["points", "perk-list"])
    assert "Rice 5 kg  80 points  3 left" in listing.output

    refilled = runner.invoke(args=["points", "perk-stock", str(perk.id), "40"])
    assert refilled.exit_code == 0, refilled.output
    assert refilled.output.strip() == f"perk {perk.id}: 40 left"
    assert [event.action for event in AuditEvent.query.filter_by(target_type="perk")] == ["perk.create", "perk.update"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--kind", "toys"], "Unknown kind of perk"),
        (["--points", "0"], "points cost must be a whole number"),
        (["--limit", "lots/month"], "A limit needs both"),
        (["--limit", "2/fortnight"], "A limit needs both"),
        (["--stock", "-1"], "The stock must be empty"),
        (["--venue", "Nowhere"], "No organization matches Nowhere"),
        (["--valid-from", "2026-05-01", "--valid-until", "2026-04-01"], "end of the validity window"),
    ],
)
def test_perk_add_refuses_bad_input_with_the_message_and_adds_nothing(runner, build, extra, message):
    tree = build.tree()
    options = {"--kind": "goods", "--org": tree["city"].name, "--venue": tree["city"].name, "--points": "10"}
    options.update(zip(extra[::2], extra[1::2], strict=True))
    arguments = [part for pair in options.items() for part in pair]

    result = runner.invoke(args=["points", "perk-add", "Cup", *arguments])

    assert result.exit_code == 2, result.output
    assert message in result.output
    assert Perk.query.count() == 0


def test_perk_stock_of_an_unknown_perk_is_refused(runner, build):
    result = runner.invoke(args=["points", "perk-stock", "999", "5"])
    assert result.exit_code == 2
    assert "error:" in result.output
