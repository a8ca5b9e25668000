"""The change-request path: a second person applies what the first asked for, once.

A test kind is registered here whose ``apply`` renames a service category through the
rules service, so that applying has a visible, audited effect."""

import pytest
from sqlalchemy import func, select

from points_service.accounts.models import User
from points_service.audit.models import AuditEvent
from points_service.changes import service as changes
from points_service.changes.models import ChangeRequest
from points_service.errors import NotFound, PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.rules import service as rules
from tests.builders.changes import RENAME_CATEGORY, rename_category_kind
from tests.ledger.test_concurrency import run_concurrently


@pytest.fixture(autouse=True)
def applied():
    with rename_category_kind() as applied:
        yield applied


@pytest.fixture
def admins(build):
    tree = build.tree()
    people = {
        "author": build.staff("admin", tree["city"]),
        "reviewer": build.staff("admin", tree["city"]),
        "elsewhere": build.staff("admin", tree["communities"][3]),
        "organizer": build.staff("organizer", tree["city"]),
    }
    rules.create_category(people["author"], "elderly_care", "Elderly care", "助老服务")
    return people


def _ask(build, author, organization=None, name="Care for the elderly"):
    return build.rename_request(author, organization or build.tree()["city"], name=name)


def _events(action):
    return db.session.execute(select(func.count(AuditEvent.id)).where(AuditEvent.action == action)).scalar_one()


def test_a_request_changes_nothing_until_a_second_admin_approves_it(build, admins):
    request = _ask(build, admins["author"])
    assert rules.get_category("elderly_care").name_en == "Elderly care"
    assert request.status == "pending"

    changes.approve_change(admins["reviewer"], request.id)

    assert rules.get_category("elderly_care").name_en == "Care for the elderly"
    assert (request.status, request.reviewer_id) == ("approved", admins["reviewer"].id)
    assert request.result == {"code": "elderly_care"}
    assert _events("change.request") == 1 and _events("change.approve") == 1


def test_the_author_cannot_approve_their_own_request(build, admins, applied):
    request = _ask(build, admins["author"])
    with pytest.raises(changes.SecondPersonRequired):
        changes.approve_change(admins["author"], request.id)
    assert db.session.get(ChangeRequest, request.id).status == "pending"
    assert applied == []


def test_a_reviewer_outside_the_subtree_or_without_the_permission_sees_no_request(build, admins, applied):
    request = _ask(build, admins["author"])
    for outsider in (admins["elsewhere"], admins["organizer"]):
        with pytest.raises(NotFound):
            changes.approve_change(outsider, request.id)
        with pytest.raises(NotFound):
            changes.get_change_request(outsider, request.id)
        assert changes.list_change_requests(outsider) == []
    assert applied == []


def test_asking_needs_the_permission_on_that_subtree(build, admins):
    with pytest.raises(PermissionDenied):
        _ask(build, admins["organizer"])
    with pytest.raises(PermissionDenied):
        _ask(build, admins["elsewhere"], organization=build.tree()["city"])
    assert db.session.execute(select(func.count(ChangeRequest.id))).scalar_one() == 0


def test_rejecting_needs_a_reason_and_applies_nothing(build, admins):
    request = _ask(build, admins["author"])
    with pytest.raises(ValidationError):
        changes.reject_change(admins["reviewer"], request.id, "   ")
    changes.reject_change(admins["reviewer"], request.id, "The old name is the official one.")
    assert (request.status, request.decision_reason) == ("rejected", "The old name is the official one.")
    assert rules.get_category("elderly_care").name_en == "Elderly care"
    with pytest.raises(changes.RequestAlreadyDecided):
        changes.approve_change(admins["reviewer"], request.id)


def test_only_the_author_withdraws_and_a_withdrawn_request_cannot_be_approved(build, admins, applied):
    request = _ask(build, admins["author"])
    with pytest.raises(PermissionDenied):
        changes.withdraw_change(admins["reviewer"], request.id)
    changes.withdraw_change(admins["author"], request.id)
    with pytest.raises(changes.RequestAlreadyDecided):
        changes.approve_change(admins["reviewer"], request.id)
    assert applied == []


def test_one_pending_request_per_target_and_a_new_one_after_the_decision(build, admins):
    request = _ask(build, admins["author"])
    with pytest.raises(changes.RequestAlreadyPending):
        _ask(build, admins["reviewer"], name="Another name")
    changes.reject_change(admins["reviewer"], request.id, "Not now.")
    assert _ask(build, admins["reviewer"], name="Another name").status == "pending"


def test_waiting_for_me_leaves_out_my_own_requests(build, admins):
    _ask(build, admins["author"])
    assert changes.count_awaiting_review(admins["author"]) == 0
    assert changes.count_awaiting_review(admins["reviewer"]) == 1
    assert [r.kind for r in changes.list_change_requests(admins["reviewer"], awaiting_review=True)] == [RENAME_CATEGORY]


@pytest.mark.slow
def test_ten_reviewers_approving_at_once_apply_the_change_exactly_once(app, build, applied):
    city = build.tree()["city"]
    author = build.staff("admin", city)
    rules.create_category(author, "elderly_care", "Elderly care", "助老服务")
    reviewer_ids = [build.staff("admin", city).id for _ in range(10)]
    request_id = _ask(build, author).id
    db.session.commit()

    def approve(index):
        return changes.approve_change(db.session.get(User, reviewer_ids[index]), request_id).id

    results = run_concurrently(app, 10, approve)

    assert sum(1 for r in results if r == request_id) == 1
    assert all(isinstance(r, changes.RequestAlreadyDecided) for r in results if r != request_id)
    assert len(applied) == 1
    db.session.expire_all()
    assert _events("change.approve") == 1
