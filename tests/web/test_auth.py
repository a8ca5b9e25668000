from points_service.accounts.models import User


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Log in" in response.data


def test_volunteer_registers_logs_in_and_sees_member_number(client, build):
    community = build.community
    response = client.post(
        "/register",
        data={
            "name": "Li Si",
            "mobile": "13912345678",
            "community": community.id,
            "password": "secret-pass-1",
            "consent": "y",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.post("/login", data={"login": "13912345678", "password": "secret-pass-1"}).status_code == 302
    page = client.get("/me/")
    assert page.status_code == 200
    user = User.query.filter_by(mobile="13912345678").one()
    assert user.volunteer.member_no.encode() in page.data
