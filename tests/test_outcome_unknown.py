"""When the database fails during or after a commit, nobody is told that nothing changed.

The answer is 503 ``outcome_unknown`` in the API's error shape or on the page, in the
caller's language, and the retry with the same key returns what was done the first
time. A key left in progress by a killed worker is taken over once the request timeout
has passed, not minutes later.
"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from points_service import create_app
from points_service.accounts.models import ApiToken
from points_service.api.idempotency import request_fingerprint
from points_service.api.models import IdempotentRequest
from points_service.config import ConfigurationError
from points_service.extensions import db
from points_service.ledger.models import LedgerEntry
from points_service.perks.models import Redemption
from points_service.timeutil import utcnow
from tests.builders import PASSWORD
from tests.builders.perks import phone_scan, request_key, stars


@pytest.fixture
def app_config():
    # A request that finds its key in progress answers at once instead of waiting for it.
    return {"IDEMPOTENCY_WAIT_SECONDS": 0}


def _lost():
    return OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))


class DatabaseTrouble:
    """Makes the next commit that writes a ledger entry apply, then fail as a lost connection would.

    With ``down_after=True`` the database also stays unreachable after that commit
    (every statement fails) until ``back()``.
    """

    def __init__(self, monkeypatch, down_after=False):
        self.armed = True
        self.down = False
        self.down_after = down_after
        real_commit = Session.commit

        def commit(session):
            wrote = session.info.pop("test_wrote_entry", False)
            real_commit(session)
            if wrote and self.armed:
                self.armed = False
                self.down = self.down_after
                raise _lost()

        monkeypatch.setattr(Session, "commit", commit)

    def note_entries(self, session, _context):
        if any(isinstance(row, LedgerEntry) for row in session.new):
            session.info["test_wrote_entry"] = True

    def forget_entries(self, session, *_args):
        session.info.pop("test_wrote_entry", None)

    def refuse_statements(self, *_args):
        if self.down:
            raise _lost()

    def back(self):
        self.down = False


@pytest.fixture
def trouble(monkeypatch):
    made = []

    def start(down_after=False):
        trouble = DatabaseTrouble(monkeypatch, down_after)
        event.listen(Session, "after_flush", trouble.note_entries)
        event.listen(Session, "after_rollback", trouble.forget_entries)
        event.listen(Engine, "before_cursor_execute", trouble.refuse_statements)
        made.append(trouble)
        return trouble

    yield start
    for trouble in made:
        event.remove(Session, "after_flush", trouble.note_entries)
        event.remove(Session, "after_rollback", trouble.forget_entries)
        event.remove(Engine, "before_cursor_execute", trouble.refuse_statements)


@pytest.fixture
def district(build):
    return build.tree()["districts"][0]


@pytest.fixture
def headers(build, district):
    return build.bearer(build.counter_clerk(district), role="counter", organization=district)


def _redemptions():
    return db.session.execute(select(Redemption).order_by(Redemption.id)).scalars().all()


@pytest.mark.parametrize(
    "language, words",
    [("en", "could not confirm whether this was saved"), ("zh-CN", "无法确认这次操作是否已保存")],
)
def test_an_api_commit_that_fails_says_the_outcome_is_unknown_and_the_retry_returns_the_original(
    client, build, headers, trouble, language, words
):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15, stock=5)
    payload = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id}
    keyed = {**headers, "Idempotency-Key": "commit-lost-1", "Accept-Language": language}
    trouble()

    failed = client.post("/api/v1/redemptions", json=payload, headers=keyed)
    retry = client.post("/api/v1/redemptions", json=payload, headers=keyed)

    assert failed.status_code == 503
    error = failed.json["error"]
    assert error["code"] == "outcome_unknown" and words in error["message"]
    assert "Idempotency-Key" in error["message"]
    [redemption] = _redemptions()  # the first request was applied
    assert retry.status_code == 201 and retry.json["id"] == redemption.id
    assert build.account(volunteer).balance == 35 and db.session.get(type(perk), perk.id).stock == 4


def test_an_api_redemption_that_loses_the_database_after_its_commit_says_so_and_the_retry_returns_it_at_once(
    app, client, build, headers, trouble
):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    payload = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id}
    keyed = {**headers, "Idempotency-Key": "commit-lost-2"}
    database = trouble(down_after=True)

    failed = client.post("/api/v1/redemptions", json=payload, headers=keyed)
    database.back()
    # The stored response was committed with the redemption: no claim is left waiting for a lease.
    retry = client.post("/api/v1/redemptions", json=payload, headers=keyed)

    assert failed.status_code == 503 and failed.json["error"]["code"] == "outcome_unknown"
    [redemption] = _redemptions()
    assert retry.status_code == 201 and retry.json["id"] == redemption.id
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert build.account(volunteer).balance == 35


def _key_in(page):
    return re.search(r'name="idempotency_key" value="([^"]+)"', page.get_data(as_text=True)).group(1)


@pytest.mark.parametrize(
    "language, words",
    [("en", "Sending this form again is safe"), ("zh_CN", "再次提交这张表单是安全的")],
)
def test_a_counter_confirm_whose_commit_fails_says_so_and_sending_the_form_again_redeems_once(
    client, build, auth, district, trouble, language, words
):
    build.counter_clerk(district, username="clerk")
    auth.login("clerk", PASSWORD)
    client.post(f"/language/{language}")
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    form = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id, "quantity": 1}
    key = _key_in(client.post("/counter/scan", data={"code": volunteer.volunteer.member_no}))
    trouble()

    failed = client.post("/counter/redeem", data={**form, "idempotency_key": key})
    again = client.post("/counter/redeem", data={**form, "idempotency_key": _key_in(failed)})

    assert failed.status_code == 503
    assert words in failed.get_data(as_text=True)
    assert _key_in(failed) == key  # the form shown again keeps its key
    [redemption] = _redemptions()
    assert again.status_code == 302 and again.headers["Location"] == f"/counter/redemptions/{redemption.id}"
    assert build.account(volunteer).balance == 35


def test_a_reservation_whose_commit_fails_says_so_and_sending_the_form_again_reserves_once(
    client, build, auth, trouble
):
    volunteer = build.volunteer(points=50)
    auth.login(volunteer.mobile, PASSWORD)
    perk = build.perk(points_cost=15)
    key = _key_in(client.get(f"/perks/{perk.id}"))
    trouble()

    failed = client.post(f"/perks/{perk.id}/reserve", data={"quantity": 1, "idempotency_key": key})
    again = client.post(f"/perks/{perk.id}/reserve", data={"quantity": 1, "idempotency_key": key})

    assert failed.status_code == 503 and "Sending this form again is safe" in failed.get_data(as_text=True)
    [redemption] = _redemptions()
    assert again.status_code == 302 and again.headers["Location"] == f"/perks/vouchers/{redemption.id}"
    assert build.account(volunteer).balance == 35


def test_a_form_without_a_key_whose_commit_fails_asks_to_check_before_doing_it_again(client, build, auth, trouble):
    from points_service.perks import service as perks

    volunteer = build.volunteer(points=50)
    auth.login(volunteer.mobile, PASSWORD)
    reserved = perks.reserve_perk(volunteer, build.perk(points_cost=15).id, 1, request_key(), level_of=stars(0))
    trouble()

    failed = client.post(f"/perks/vouchers/{reserved.id}/cancel")

    assert failed.status_code == 503
    page = failed.get_data(as_text=True)
    assert "Check before doing it again" in page and "nothing was changed" not in page
    db.session.expire_all()
    assert db.session.get(Redemption, reserved.id).status == "voided"  # it was applied


def test_a_page_that_fails_after_its_commit_does_not_say_nothing_was_changed(client, build, auth, district, trouble):
    build.counter_clerk(district, username="clerk")
    auth.login("clerk", PASSWORD)
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    form = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id, "quantity": 1}
    trouble(down_after=True)  # the page shown after the failed commit cannot be read either

    failed = client.post("/counter/redeem", data={**form, "idempotency_key": "form-key-1"})

    assert failed.status_code == 503
    page = failed.get_data(as_text=True)
    assert "Sending this form again is safe" in page and "nothing was changed" not in page


# -- the lease: a killed worker's key is free again after the request timeout ---------------


def _dead_claim(app, headers, payload, key, age_seconds):
    """The row a worker killed mid-request leaves: claimed ``age_seconds`` ago, never finished."""
    token_id = db.session.execute(select(func.max(ApiToken.id))).scalar_one()
    with app.test_request_context("/api/v1/redemptions", method="POST", json=payload, headers=headers):
        fingerprint = request_fingerprint()
    db.session.add(
        IdempotentRequest(
            principal=f"token:{token_id}",
            key=key,
            method_path="POST /api/v1/redemptions",
            request_hash=fingerprint,
            owner="killed-worker",
            claimed_at=utcnow() - timedelta(seconds=age_seconds),
        )
    )
    db.session.commit()


def test_a_key_left_in_progress_longer_than_the_request_timeout_is_taken_over_by_the_retry(app, client, build, headers):
    assert app.config["REQUEST_TIMEOUT_SECONDS"] == 30  # gunicorn's default timeout
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    payload = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id}
    _dead_claim(app, headers, payload, "killed-1", age_seconds=31)

    retry = client.post("/api/v1/redemptions", json=payload, headers={**headers, "Idempotency-Key": "killed-1"})

    assert retry.status_code == 201
    assert len(_redemptions()) == 1 and build.account(volunteer).balance == 35


def test_a_key_in_progress_for_less_than_the_request_timeout_is_not_taken_over(app, client, build, headers):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    payload = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id}
    _dead_claim(app, headers, payload, "running-1", age_seconds=25)

    waiting = client.post("/api/v1/redemptions", json=payload, headers={**headers, "Idempotency-Key": "running-1"})

    assert waiting.status_code == 409 and waiting.json["error"]["code"] == "idempotency_key_in_progress"
    assert _redemptions() == []


def test_the_request_timeout_is_a_setting_and_a_wait_as_long_as_it_is_refused(monkeypatch):
    monkeypatch.setenv("REQUEST_TIMEOUT_SECONDS", "45")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["REQUEST_TIMEOUT_SECONDS"] == 45
    with pytest.raises(ConfigurationError, match="IDEMPOTENCY_WAIT_SECONDS"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "IDEMPOTENCY_WAIT_SECONDS": 45})
