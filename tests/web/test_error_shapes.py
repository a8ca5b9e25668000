"""Every PointsError becomes an HTML page with its status, or the one JSON error shape under /api/."""

import pytest
from flask_babel import lazy_gettext as _l

from points_service.errors import Conflict, NotFound, PermissionDenied, PointsError, ValidationError
from points_service.ledger.errors import InsufficientPoints

CASES = [
    (PointsError(), 400, "bad_request", "The request could not be processed."),
    (PermissionDenied(), 403, "forbidden", "You are not allowed to do that here."),
    (NotFound(_l("No volunteer has that member number.")), 404, "not_found", "No volunteer has that member number."),
    (Conflict(), 409, "conflict", "That conflicts with the current state; reload and try again."),
    (
        InsufficientPoints(needed=30, available=12),
        409,
        "insufficient_points",
        "Insufficient points: 30 needed, 12 available.",
    ),
    (
        ValidationError(_l("Enter a name of 1 to 80 characters."), details={"field": "name"}),
        422,
        "invalid",
        "Enter a name of 1 to 80 characters.",
    ),
]


@pytest.fixture
def raising(app):
    def add(error):
        def view():
            raise error

        app.add_url_rule("/raise", "raise_page", view)
        app.add_url_rule("/api/v1/raise", "raise_api", view)

    return add


@pytest.mark.parametrize(("error", "status", "code", "message"), CASES, ids=[c[2] + str(c[1]) for c in CASES])
def test_a_points_error_is_an_html_page_with_its_status_and_message(client, raising, error, status, code, message):
    raising(error)
    response = client.get("/raise")
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize(("error", "status", "code", "message"), CASES, ids=[c[2] + str(c[1]) for c in CASES])
def test_a_points_error_under_api_is_the_one_json_shape(client, raising, error, status, code, message):
    raising(error)
    response = client.get("/api/v1/raise")
    assert response.status_code == status
    body = response.get_json()
    assert body["error"]["code"] == code
    assert body["error"]["message"] == message
    assert body["error"]["details"] == (error.details or {})


def test_a_points_error_is_shown_in_the_language_of_the_request(client, raising):
    raising(InsufficientPoints(needed=30, available=12))
    english = client.get("/api/v1/raise").get_json()["error"]["message"]
    chinese = client.get("/api/v1/raise", headers={"Accept-Language": "zh-CN"}).get_json()["error"]["message"]
    assert chinese != english
    assert "30" in chinese and "12" in chinese


def test_a_points_error_rolls_back_what_the_request_wrote(app, client, build):
    from points_service.extensions import db
    from points_service.organizations.models import Organization

    def view():
        db.session.add(Organization(name="Half-written", kind="city", path="/x/"))
        db.session.flush()
        raise Conflict()

    app.add_url_rule("/half", "half", view)
    assert client.get("/half").status_code == 409
    assert Organization.query.filter_by(name="Half-written").count() == 0


def test_a_request_without_its_csrf_token_is_a_400_page(app_config, build, database_url):
    from points_service import create_app
    from tests.conftest import BASE_CONFIG

    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": True})
    response = app.test_client().post("/logout")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
