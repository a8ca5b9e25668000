"""Creating and changing perks: validation, scope, audit, and the schema's own checks."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from points_service.audit.models import AuditEvent
from points_service.errors import PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.perks import service as perks
from points_service.timeutil import utcnow


def test_a_perk_keeps_its_terms_and_where_it_is_honored(build):
    tree = build.tree()
    perk = build.perk(
        name="Rice 5 kg",
        kind="goods",
        points_cost=80,
        copay_amount=500,
        stock=12,
        limit_quantity=2,
        limit_period="month",
        min_stars=1,
        terms="One bag per visit.",
        picture="0" * 64 + ".jpg",
        venues=[tree["communities"][0], tree["districts"][1]],
    )

    assert (perk.kind, perk.points_cost, perk.copay_amount, perk.copay_currency) == ("goods", 80, 500, "CNY")
    assert (perk.stock, perk.limit_quantity, perk.limit_period, perk.min_stars) == (12, 2, "month", 1)
    assert [node.id for node in perk.venue_organizations] == sorted(
        [tree["communities"][0].id, tree["districts"][1].id]
    )
    assert perk.is_honored_at(tree["communities"][0])
    assert perk.is_honored_at(tree["communities"][2])  # inside the second district
    assert not perk.is_honored_at(tree["communities"][1])
    assert not perk.is_honored_at(tree["districts"][0])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"points_cost": 0}, "points_cost"),
        ({"points_cost": 2.5}, "points_cost"),
        ({"copay_amount": -1}, "copay_amount"),
        ({"copay_currency": "yuan"}, "copay_currency"),
        ({"stock": -1}, "stock"),
        ({"limit_quantity": 2}, "limit_quantity"),
        ({"limit_quantity": 2, "limit_period": "fortnight"}, "limit_quantity"),
        ({"min_stars": 11}, "min_stars"),
        ({"kind": "cash"}, "kind"),
        ({"name": " "}, "name"),
        ({"picture": "../../etc/passwd"}, "picture"),
        ({"picture": "img/perks/rice.png"}, "picture"),
    ],
)
def test_a_perk_with_a_bad_field_is_refused_and_nothing_is_written(build, change, field):
    build.tree()
    with pytest.raises(ValidationError) as refused:
        build.perk(**change)

    assert refused.value.details["field"] == field
    assert perks.list_perks() == []


def test_a_validity_window_must_end_after_it_starts(build):
    start = utcnow()
    with pytest.raises(ValidationError, match="validity"):
        build.perk(valid_from=start, valid_until=start - timedelta(days=1))


def test_a_perk_needs_a_place_where_it_is_honored(build):
    tree = build.tree()
    with pytest.raises(ValidationError) as refused:
        perks.create_perk(None, organization=tree["city"], venues=[], name="Nowhere", kind="other", points_cost=5)
    assert refused.value.details["field"] == "venues"


def test_an_administrator_creates_perks_only_inside_their_subtree(build):
    tree = build.tree()
    district_admin = build.staff("admin", tree["districts"][0])

    perk = perks.create_perk(
        district_admin,
        organization=tree["districts"][0],
        venues=[tree["communities"][0]],
        name="Tea",
        kind="goods",
        points_cost=5,
    )
    assert perk.organization_id == tree["districts"][0].id
    with pytest.raises(PermissionDenied):
        perks.create_perk(
            district_admin,
            organization=tree["city"],
            venues=[tree["communities"][0]],
            name="X",
            kind="other",
            points_cost=5,
        )
    with pytest.raises(PermissionDenied):
        perks.create_perk(
            district_admin,
            organization=tree["districts"][0],
            venues=[tree["districts"][1]],
            name="X",
            kind="other",
            points_cost=5,
        )
    counter = build.counter_clerk()
    with pytest.raises(PermissionDenied):
        perks.create_perk(
            counter,
            organization=tree["districts"][0],
            venues=[tree["districts"][0]],
            name="X",
            kind="other",
            points_cost=5,
        )


def test_creating_and_changing_a_perk_is_audited_with_before_and_after(build):
    tree = build.tree()
    admin = build.staff("admin", tree["city"])
    perk = perks.create_perk(
        admin,
        organization=tree["city"],
        venues=[tree["districts"][0]],
        name="Cup",
        kind="goods",
        points_cost=30,
        stock=5,
    )

    perks.update_perk(admin, perk.id, stock=9, points_cost=25, venues=[tree["districts"][1]])

    events = db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    created, updated = [e for e in events if e.target_type == "perk"]
    assert created.action == "perk.create" and created.actor_id == admin.id
    assert created.after["stock"] == 5 and created.after["venues"] == [tree["districts"][0].id]
    assert updated.action == "perk.update"
    assert updated.before == {"stock": 5, "points_cost": 30, "venues": [tree["districts"][0].id]}
    assert updated.after == {"stock": 9, "points_cost": 25, "venues": [tree["districts"][1].id]}
    assert perk.stock == 9 and perk.is_honored_at(tree["districts"][1]) and not perk.is_honored_at(tree["districts"][0])


def test_the_database_itself_refuses_negative_stock_and_a_zero_cost(build):
    perk = build.perk(stock=1)
    db.session.commit()

    for statement in ("UPDATE perks SET stock = -1 WHERE id = :id", "UPDATE perks SET points_cost = 0 WHERE id = :id"):
        with pytest.raises(IntegrityError):
            db.session.execute(text(statement), {"id": perk.id})
            db.session.flush()
        db.session.rollback()
