import pytest
from sqlalchemy import func, select

from points_service.errors import IdempotencyConflict
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.errors import DuplicateRequest, InsufficientPoints, InvalidIdempotencyKey
from points_service.ledger.models import LedgerEntry

from .helpers import at


def entry_count():
    return db.session.execute(select(func.count(LedgerEntry.id))).scalar_one()


def test_repeating_a_spend_with_its_key_returns_the_first_entry_and_spends_once(account):
    ledger.earn_points(account.id, 30, reason="earned", now=at(0))

    first = ledger.spend_points(account.id, 20, reason="Bus pass", idempotency_key="order-1", now=at(1))
    # the balance no longer covers a second spend: a replay must not be refused for that
    again = ledger.spend_points(account.id, 20, reason="Bus pass", idempotency_key="order-1", now=at(2))

    assert again.id == first.id
    assert ledger.get_account(account.id).balance == 10
    assert entry_count() == 2


@pytest.mark.parametrize("operation", ["earn", "adjust"])
def test_repeating_a_credit_with_its_key_credits_once(account, build, operation):
    admin = build.staff("admin")
    if operation == "earn":

        def credit():
            return ledger.earn_points(
                account.id, 15, reason="record 9", cause_type="record", cause_id=9, idempotency_key="award-9"
            )
    else:

        def credit():
            return ledger.adjust_points(account.id, 15, reason="fix", actor_id=admin.id, idempotency_key="award-9")

    assert credit().id == credit().id
    assert ledger.get_account(account.id).balance == 15


@pytest.mark.parametrize(
    "second",
    [
        {"points": 21},
        {"cause_id": "other"},
        {"operation": "earn"},
        {"account": "other"},
    ],
    ids=["other amount", "other cause", "other operation", "other account"],
)
def test_a_key_reused_with_a_different_request_is_refused_and_nothing_is_written(build, second):
    accounts = [build.account(build.volunteer(points=100)) for _ in range(2)]
    request = {"operation": "spend", "account": "first", "points": 20, "cause_id": "a"}
    original = dict(request)

    def send(spec):
        do = ledger.spend_points if spec["operation"] == "spend" else ledger.earn_points
        account_id = accounts[0].id if spec["account"] == "first" else accounts[1].id
        return do(
            account_id,
            spec["points"],
            reason="x",
            cause_type="order",
            cause_id=spec["cause_id"],
            idempotency_key="key-1",
        )

    send(original)
    before = entry_count()
    with pytest.raises(DuplicateRequest) as refused:
        send({**request, **second})

    assert isinstance(refused.value, IdempotencyConflict)
    assert refused.value.status == 409
    assert refused.value.render_message() == "This request key was already used for a different points operation."
    assert entry_count() == before
    db.session.expire_all()
    assert [a.balance for a in accounts] == [80, 100]


@pytest.mark.parametrize("key", ["", "k" * 129, 42, b"bytes"], ids=["empty", "too long", "number", "bytes"])
def test_a_malformed_key_is_refused_as_invalid(account, key):
    with pytest.raises(InvalidIdempotencyKey) as refused:
        ledger.earn_points(account.id, 5, reason="x", idempotency_key=key)
    assert refused.value.status == 422
    assert entry_count() == 0


def test_a_key_of_128_characters_is_accepted(account):
    entry = ledger.earn_points(account.id, 5, reason="x", idempotency_key="k" * 128)
    assert entry.idempotency_key == "k" * 128


def test_a_keyed_operation_that_failed_can_be_retried_with_the_same_key(account):
    with pytest.raises(InsufficientPoints):
        ledger.spend_points(account.id, 20, reason="too early", idempotency_key="order-2")
    ledger.earn_points(account.id, 30, reason="earned")

    entry = ledger.spend_points(account.id, 20, reason="now it works", idempotency_key="order-2")

    assert entry.balance_after == 10


def test_an_operation_nested_in_an_outer_unit_of_work_rolls_back_with_it(account):
    from points_service.database import write_transaction

    with pytest.raises(RuntimeError), write_transaction():
        ledger.earn_points(account.id, 30, reason="earned", idempotency_key="nested-1")
        raise RuntimeError("the caller failed after the earning")

    assert entry_count() == 0
    assert ledger.get_account(account.id).balance == 0
    # the key was never used, so it works now
    assert ledger.earn_points(account.id, 30, reason="earned", idempotency_key="nested-1").balance_after == 30
