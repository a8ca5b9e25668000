"""Publishing freezes a roll: neither the service nor a stray write can change it."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from points_service.audit.models import AuditEvent
from points_service.extensions import db
from points_service.honor import service as honor
from points_service.honor.models import HonorRollEntry, PublishedHonorRollChanged
from points_service.honor.service import HonorRollNotEditable, HonorRollNotFound

from .conftest import MARCH_FIRST_UTC, serve


@pytest.fixture
def published(build, tree):
    serve(build, build.volunteer(name="Winner"), MARCH_FIRST_UTC + timedelta(days=1), minutes=60)
    return build.honor_roll(tree["city"], actor=build.staff("admin", tree["city"]))


def test_publishing_is_audited_and_dated(published):
    assert published.status == "published"
    assert published.published_at is not None
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "honor.publish")).scalar_one()
    assert event.target_id == str(published.id)
    assert event.after["status"] == "published"


def test_a_published_roll_is_not_recomputed_even_after_new_service(build, tree, published):
    serve(build, build.volunteer(name="Latecomer"), MARCH_FIRST_UTC + timedelta(days=2), minutes=600)

    with pytest.raises(HonorRollNotEditable):
        honor.compute_honor_roll(None, tree["city"], "month", date(2026, 3, 1), "hours", 10)

    db.session.expire_all()
    assert [(entry.display_name, entry.value) for entry in honor.get_published_honor_roll(published.id).entries] == [
        ("W*****", 60)
    ]


def test_a_published_roll_is_not_published_twice(build, tree, published):
    with pytest.raises(HonorRollNotEditable):
        honor.request_honor_roll_publication(build.staff("admin", tree["city"]), published.id)


def test_the_snapshot_cannot_be_changed_behind_the_services_back(published):
    published.size = 3
    with pytest.raises(PublishedHonorRollChanged):
        db.session.flush()
    db.session.rollback()

    entry = db.session.execute(select(HonorRollEntry).where(HonorRollEntry.roll_id == published.id)).scalar_one()
    entry.value = 1_000
    with pytest.raises(PublishedHonorRollChanged):
        db.session.flush()
    db.session.rollback()

    db.session.add(
        HonorRollEntry(
            roll_id=published.id,
            rank=2,
            volunteer_id=entry.volunteer_id,
            display_name="X*",
            value=5,
            home_community="c",
        )
    )
    with pytest.raises(PublishedHonorRollChanged):
        db.session.flush()
    db.session.rollback()

    db.session.delete(db.session.get(HonorRollEntry, entry.id))
    with pytest.raises(PublishedHonorRollChanged):
        db.session.flush()
    db.session.rollback()


def test_drafts_and_unknown_rolls_are_not_found_publicly(build, tree, published):
    draft = build.honor_roll(tree["city"], metric="points", publish=False)

    for roll_id in (draft.id, 999_999, 0, -1, "1"):
        with pytest.raises(HonorRollNotFound):
            honor.get_published_honor_roll(roll_id)
    assert [roll.id for roll in honor.list_published_honor_rolls()] == [published.id]
    assert honor.list_published_honor_rolls(tree["districts"][0]) == []
    assert [roll.id for roll in honor.list_published_honor_rolls(tree["city"])] == [published.id]
