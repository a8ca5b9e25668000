"""A co-payment due for refund after a void: an administrator records it handed back
(how, by whom, when, a note), once; ``check_refunds`` catches inconsistent payment states."""

from datetime import datetime

import pytest
from sqlalchemy import select, text

from points_service.audit.models import AuditEvent
from points_service.errors import Conflict, ValidationError
from points_service.extensions import db
from points_service.perks import service as perks
from points_service.perks.errors import RedemptionNotFound
from points_service.perks.models import Redemption
from points_service.perks.payments import check_refunds
from tests.builders.perks import redeem_with_code, request_key, stars

HANDED_BACK = datetime(2027, 1, 4, 3, 30)  # 11:30 in Asia/Shanghai


@pytest.fixture
def refund_due(build, clerk, district):
    """A counter redemption with a 2.50 yuan co-payment, voided the same day: refund due."""
    volunteer = build.volunteer(points=40)
    perk = build.perk(kind="goods", points_cost=15, stock=5, copay_amount=250)
    redemption = redeem_with_code(
        clerk, district, volunteer.volunteer.member_no, perk.id, 1, request_key("k"), level_of=stars(0)
    )
    perks.void_redemption(clerk, redemption.id, "wrong card")
    return db.session.get(Redemption, redemption.id)


@pytest.fixture
def admin(build, district):
    return build.staff("admin", district)


def test_marking_a_refund_records_how_who_when_and_a_note_and_is_audited(refund_due, admin):
    assert refund_due.payment_status == "refund_due"

    refunded = perks.settle_refund(admin, refund_due.id, "cash", "  handed 2.50 to the volunteer  ", now=HANDED_BACK)

    db.session.expire_all()
    assert (refunded.payment_status, refunded.refund_method) == ("refunded", "cash")
    assert (refunded.refunded_by_id, refunded.refunded_at) == (admin.id, HANDED_BACK)
    assert refunded.refund_note == "handed 2.50 to the volunteer"
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "redemption.refund")).scalar_one()
    assert event.before == {"payment_status": "refund_due"}
    assert event.after["amount"] == 250 and event.after["method"] == "cash"
    assert check_refunds() == [] and perks.check_redemptions() == []


def test_a_refund_is_recorded_once(refund_due, admin):
    perks.settle_refund(admin, refund_due.id, "cash", "handed back", now=HANDED_BACK)
    with pytest.raises(Conflict, match="refunded"):
        perks.settle_refund(admin, refund_due.id, "transfer", "again", now=HANDED_BACK)
    db.session.expire_all()
    assert db.session.get(Redemption, refund_due.id).refund_method == "cash"


@pytest.mark.parametrize(
    ("method", "note", "field"),
    [
        ("cheque", "handed back", "method"),
        (None, "handed back", "method"),
        ("cash", "  ", "note"),
        ("cash", None, "note"),
        ("cash", "x" * 256, "note"),
        ("cash", "two\nlines", "note"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(refund_due, admin, method, note, field):
    with pytest.raises(ValidationError) as refused:
        perks.settle_refund(admin, refund_due.id, method, note)
    assert refused.value.details == {"field": field}
    db.session.expire_all()
    assert db.session.get(Redemption, refund_due.id).payment_status == "refund_due"


def test_only_administrators_of_the_counter_or_the_perk_record_refunds(build, refund_due, clerk):
    elsewhere = build.staff("admin", build.tree()["districts"][1])
    for outsider in (clerk, elsewhere):
        with pytest.raises(RedemptionNotFound):
            perks.settle_refund(outsider, refund_due.id, "cash", "handed back")
    perks.settle_refund(build.staff("admin", build.tree()["city"]), refund_due.id, "cash", "handed back")


def test_nothing_to_refund_when_no_co_payment_was_paid(build, clerk, district, admin):
    volunteer = build.volunteer(points=40)
    perk = build.perk(points_cost=10)
    redemption = redeem_with_code(
        clerk, district, volunteer.volunteer.member_no, perk.id, 1, request_key("k2"), level_of=stars(0)
    )
    perks.void_redemption(clerk, redemption.id, "wrong card")
    with pytest.raises(Conflict, match="none"):
        perks.settle_refund(admin, redemption.id, "cash", "handed back")


def _tamper(statement, **params):
    db.session.execute(text(statement), params)
    db.session.commit()


def test_verify_reports_payment_states_that_disagree_with_the_redemption(refund_due, admin):
    account_id = refund_due.account_id
    _tamper("UPDATE redemptions SET status = 'fulfilled' WHERE id = :id", id=refund_due.id)
    assert check_refunds() == [
        (account_id, f"redemption {refund_due.id} is fulfilled but its co-payment is refund_due")
    ]

    _tamper("UPDATE redemptions SET status = 'voided', payment_status = 'paid' WHERE id = :id", id=refund_due.id)
    assert check_refunds() == [
        (account_id, f"redemption {refund_due.id} was voided but its paid co-payment is not due for refund")
    ]

    _tamper(
        "UPDATE redemptions SET payment_status = 'refund_due', refunded_at = CURRENT_TIMESTAMP WHERE id = :id",
        id=refund_due.id,
    )
    assert check_refunds() == [
        (account_id, f"redemption {refund_due.id} is still due for refund but a refund was recorded")
    ]


def test_verify_reports_a_refund_state_without_a_co_payment(refund_due):
    _tamper("UPDATE redemptions SET copay_amount = 0 WHERE id = :id", id=refund_due.id)
    assert check_refunds() == [
        (refund_due.account_id, f"redemption {refund_due.id} has no co-payment but its payment status is refund_due")
    ]


def test_the_database_refuses_a_refund_without_a_date_or_method(refund_due):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        _tamper("UPDATE redemptions SET payment_status = 'refunded' WHERE id = :id", id=refund_due.id)
    db.session.rollback()
