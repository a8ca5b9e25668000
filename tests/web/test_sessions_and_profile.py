"""Login, logout and the volunteer's profile page, as a person using a browser sees them."""

import re
from datetime import timedelta

import pytest

from points_service.accounts.models import User
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.timeutil import utcnow
from tests.builders import PASSWORD


def test_the_profile_page_needs_a_login(client):
    response = client.get("/me/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_profile_page_shows_balance_member_number_history_and_expiring_points(client, auth, build):
    user = build.volunteer(points=40)
    account_id = build.account(user).id
    ledger.earn_points(account_id, 25, reason="Park clean-up", expires_at=utcnow() + timedelta(days=20))
    ledger.spend_points(account_id, 15, reason="Bus pass")
    auth.login(user.mobile, PASSWORD)

    page = client.get("/me/").get_data(as_text=True)

    assert 'data-testid="balance">50<' in page
    assert f'data-testid="member-no">{user.volunteer.member_no}<' in page
    for text in ("Park clean-up", "Bus pass", "Redeemed", "Earned", "+25", "-15"):
        assert text in page
    assert "10 points expire on" in page  # the spend took 15 of the 25 that expire first
    assert 'href="/me/code"' in page  # the counter code is one tap away; the number alone cannot spend


def test_a_staff_user_without_a_volunteer_profile_gets_404_on_the_profile_page(client, auth, build):
    staff = build.staff("counter")
    auth.login(staff.username, PASSWORD)
    assert client.get("/me/").status_code == 404


def test_logging_out_ends_the_session(client, auth, build):
    user = build.volunteer()
    auth.login(user.mobile, PASSWORD)
    assert client.get("/me/").status_code == 200

    response = auth.logout()

    assert response.status_code == 302
    assert client.get("/me/").status_code == 302


def test_a_disabled_user_is_logged_out_of_an_open_session(client, auth, build):
    user = build.volunteer()
    auth.login(user.mobile, PASSWORD)
    db.session.get(User, user.id).active = False
    db.session.commit()

    assert client.get("/me/").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_to_another_site(client, build, target):
    user = build.volunteer()
    response = client.post(f"/login?next={target}", data={"login": user.mobile, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/"


def test_login_returns_to_the_page_that_asked_for_it(client, build):
    user = build.volunteer()
    response = client.post("/login?next=/me/", data={"login": user.mobile, "password": PASSWORD})
    assert response.headers["Location"] == "/me/"


def test_a_wrong_password_shows_one_message_and_no_session(client, build):
    user = build.volunteer()
    response = client.post("/login", data={"login": user.mobile, "password": "wrong-password-1"})
    assert response.status_code == 422
    assert "Wrong user name, mobile number or password." in response.get_data(as_text=True)
    assert client.get("/me/").status_code == 302


def registration(build, **changes):
    return {
        "name": "Li Si",
        "mobile": "13912345678",
        "community": build.community.id,
        "password": "secret-pass-1",
        "consent": "y",
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mobile": "12345"}, "Enter an 11-digit mainland mobile number starting with 1."),
        ({"consent": ""}, "Please read and accept the privacy notice to register."),
        ({"password": "onlyletters"}, "too common or too easy to guess"),
        ({"password": "short-1"}, "at least 10 characters"),
        ({"community": "0"}, "Please fill in every field"),
    ],
    ids=["mobile", "consent", "common password", "short password", "community"],
)
def test_a_bad_registration_shows_what_to_fix_and_creates_nobody(client, build, changes, message):
    data = registration(build, **changes)
    if not data["consent"]:
        del data["consent"]

    response = client.post("/register", data=data)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert User.query.filter_by(mobile="13912345678").count() == 0


def test_registering_a_district_as_home_is_refused(client, build):
    response = client.post("/register", data=registration(build, community=build.tree()["districts"][0].id))
    assert response.status_code == 422
    assert User.query.filter_by(mobile="13912345678").count() == 0


def test_the_registration_form_offers_only_communities(client, build):
    tree = build.tree()
    page = client.get("/register").get_data(as_text=True)
    for community in tree["communities"]:
        assert community.name in page
    assert tree["districts"][0].name not in page
    assert 'name="consent"' in page
    assert "/privacy" in page


def test_registering_a_registered_number_answers_exactly_like_a_new_one_and_changes_nothing(app, build):
    existing = build.volunteer(mobile="13912345678")
    answers = []
    for mobile in ("13912345678", "13987654321"):
        client = app.test_client()
        response = client.post("/register", data=registration(build, mobile=mobile, password="another-pass-42"))
        flashed = re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', client.get("/login").get_data(as_text=True))
        answers.append((response.status_code, response.headers.get("Location"), flashed))
    assert answers[0] == answers[1]
    assert answers[0][0] == 302 and "registered before" in answers[0][2][0]
    assert User.query.filter_by(mobile="13912345678").count() == 1
    assert db.session.get(User, existing.id).password_hash == existing.password_hash
