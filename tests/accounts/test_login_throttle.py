"""Failed logins back off per account and per source, counted in the database that every
app process shares; nobody can lock an owner out, and nothing tells whether a login exists."""

import contextlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from points_service import create_app
from points_service.accounts import service as accounts
from points_service.accounts import throttle
from points_service.accounts.models import LoginThrottle
from points_service.accounts.throttle import TooManyAttempts
from points_service.errors import ValidationError
from points_service.extensions import db
from points_service.timeutil import utcnow
from tests.builders import PASSWORD
from tests.conftest import BASE_CONFIG

WRONG = "wrong-password-1"
HOME, ELSEWHERE, THIRD = "10.0.0.1", "10.0.0.2", "10.0.0.3"


def _fail(login, now, source=ELSEWHERE):
    with pytest.raises(ValidationError):
        accounts.authenticate(login, WRONG, source=source, now=now)


def _waits(login, now, source=ELSEWHERE, password=PASSWORD):
    with pytest.raises(TooManyAttempts) as refused:
        accounts.authenticate(login, password, source=source, now=now)
    return refused.value


def test_after_five_failures_each_attempt_waits_one_two_four_seconds(build):
    user = build.staff("counter", username="backoff")
    now = utcnow()
    for _ in range(5):
        _fail("backoff", now)
    assert _waits("backoff", now).params["seconds"] == 1  # even the right password waits
    now += timedelta(seconds=1)
    _fail("backoff", now)
    assert _waits("backoff", now + timedelta(seconds=1)).params["seconds"] == 1
    now += timedelta(seconds=2)
    _fail("backoff", now)
    assert _waits("backoff", now).params["seconds"] == 4
    assert accounts.authenticate("backoff", PASSWORD, source=ELSEWHERE, now=now + timedelta(seconds=4)).id == user.id


def test_the_wait_is_capped_so_no_account_is_ever_locked_for_long(build):
    build.staff("counter", username="capped")
    now = utcnow()
    for number in range(40):  # from many places, as a spread-out attacker would
        source = f"10.1.0.{number}"
        try:
            _fail("capped", now, source)
        except TooManyAttempts as refused:  # wait as told, then fail again
            now += timedelta(seconds=refused.params["seconds"])
            _fail("capped", now, source)
    assert _waits("capped", now).params["seconds"] == throttle.ACCOUNT.max_delay.total_seconds() == 300


def test_an_unknown_login_is_throttled_exactly_like_a_real_one(build):
    build.staff("counter", username="real-one")
    now = utcnow()
    answers = {}
    for login in ("real-one", "made-up-one"):
        seen = []
        for step in range(8):
            try:
                accounts.authenticate(login, WRONG, source=ELSEWHERE, now=now + timedelta(seconds=step))
            except (ValidationError, TooManyAttempts) as error:
                seen.append((error.status, error.render_message()))
        answers[login] = seen
    assert answers["real-one"] == answers["made-up-one"]
    assert any(status == 429 for status, _message in answers["real-one"])


def test_failures_from_elsewhere_never_delay_the_owner_at_their_usual_source(build):
    owner = build.volunteer()
    now = utcnow()
    assert accounts.authenticate(owner.mobile, PASSWORD, source=HOME, now=now).id == owner.id
    for _ in range(30):
        with contextlib.suppress(ValidationError, TooManyAttempts):
            accounts.authenticate(owner.mobile, WRONG, source=ELSEWHERE, now=now)
    _waits(owner.mobile, now, source=ELSEWHERE)
    _waits(owner.mobile, now, source=THIRD)  # a new place shares the account's budget
    assert accounts.authenticate(owner.mobile, PASSWORD, source=HOME, now=now).id == owner.id


def test_a_correct_password_gives_the_attempt_back(build):
    user = build.volunteer()
    now = utcnow()
    for _ in range(4):
        _fail(user.mobile, now)
    accounts.authenticate(user.mobile, PASSWORD, source=ELSEWHERE, now=now)
    for _ in range(4):
        _fail(user.mobile, now)
    assert accounts.authenticate(user.mobile, PASSWORD, source=ELSEWHERE, now=now).id == user.id


def test_one_source_trying_many_logins_is_slowed_after_twenty_failures(build):
    build.tree()
    now = utcnow()
    for number in range(20):
        _fail(f"guess{number}", now)
    assert _waits("guess-new", now).status == 429
    _fail("guess-new", now, source=THIRD)  # other sources are not affected


def test_failures_are_forgotten_a_day_later(build):
    user = build.volunteer()
    now = utcnow()
    for _ in range(5):
        _fail(user.mobile, now)
    _waits(user.mobile, now)
    later = now + throttle.FORGET_AFTER + timedelta(seconds=1)
    for _ in range(4):
        _fail(user.mobile, later)
    assert accounts.authenticate(user.mobile, PASSWORD, source=ELSEWHERE, now=later).id == user.id


def test_the_expire_job_deletes_counters_with_nothing_left_to_remember(build):
    user = build.volunteer()
    now = utcnow()
    accounts.authenticate(user.mobile, PASSWORD, source=HOME, now=now)
    _fail("someone-else", now)
    assert throttle.forget_stale_counts_job(now + throttle.FORGET_AFTER + timedelta(seconds=1)).startswith("forgot ")
    remaining = db.session.execute(select(LoginThrottle)).scalars().all()
    assert [row.succeeded_at is not None for row in remaining] == [True]  # the owner's usual source stays


# -- every app process sees one count ---------------------------------------------------------


@pytest.fixture
def second_app(database_url):
    """Another app instance on the same database: its own engine and connection pool, as a
    second gunicorn worker would have."""
    other = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    yield other
    with other.app_context():
        db.engine.dispose()


@pytest.fixture
def slow_backoff(monkeypatch):
    """A first wait of an hour, so that a test running slowly cannot outlive it."""
    monkeypatch.setattr(throttle, "ACCOUNT", throttle.Budget(5, timedelta(hours=1), timedelta(hours=1)))


def _post_login(client, login, password=WRONG):
    return client.post("/login", data={"login": login, "password": password}).status_code


def test_two_app_instances_share_one_count_of_failures(app, second_app, build, slow_backoff):
    build.staff("counter", username="shared")
    first, second = app.test_client(), second_app.test_client()
    statuses = [_post_login(first if n % 2 else second, "shared") for n in range(8)]
    assert statuses == [422] * 5 + [429] * 3
    assert _post_login(second, "shared", PASSWORD) == 429


def test_concurrent_attempts_in_two_app_instances_pass_the_limit_only_five_times(app, second_app, build, slow_backoff):
    build.staff("counter", username="raced")
    barrier = threading.Barrier(12)
    statuses = []

    def attempt(application):
        client = application.test_client()
        barrier.wait()
        statuses.append(_post_login(client, "raced"))

    threads = [threading.Thread(target=attempt, args=(app if n % 2 else second_app,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [422] * 5 + [429] * 7


def test_the_web_login_says_to_wait_in_the_users_language(client, build, slow_backoff):
    for _ in range(5):
        _post_login(client, "anyone")
    response = client.post("/login", data={"login": "anyone", "password": WRONG}, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 429
    assert "登录失败次数过多" in response.get_data(as_text=True)


def test_behind_a_trusted_proxy_each_client_address_has_its_own_count(database_url):
    proxied = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "TRUSTED_PROXY_COUNT": 1})
    client = proxied.test_client()

    def post(login, address):
        return client.post(
            "/login", data={"login": login, "password": WRONG}, headers={"X-Forwarded-For": address}
        ).status_code

    try:
        assert [post(f"guess{number}", "203.0.113.5") for number in range(20)] == [422] * 20
        assert post("guess-new", "203.0.113.5") == 429
        assert post("guess-new", "203.0.113.6") == 422  # another client behind the same proxy
    finally:
        with proxied.app_context():
            db.engine.dispose()
