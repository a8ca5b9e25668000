"""The icons and manifest a browser tab and a phone's home screen use."""

import io

from PIL import Image


def test_the_favicon_is_an_icon_browsers_can_cache(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert Image.open(io.BytesIO(response.data)).format == "ICO"
        assert "max-age" in response.headers["Cache-Control"]


def test_every_page_names_its_icons_and_manifest(client):
    page = client.get("/").get_data(as_text=True)
    assert 'rel="icon" href="/favicon.ico"' in page
    assert 'rel="apple-touch-icon" href="/static/icons/apple-touch-icon.png"' in page
    assert 'rel="manifest" href="/manifest.webmanifest"' in page


def test_the_manifest_names_the_service_in_the_visitors_language_and_its_icons_exist(client):
    chinese = client.get("/manifest.webmanifest", headers={"Accept-Language": "zh-CN"})
    assert chinese.mimetype == "application/manifest+json"
    assert chinese.json["name"] == "志愿积分"
    english = client.get("/manifest.webmanifest", headers={"Accept-Language": "en"}).json
    assert english["name"] == "Volunteer Points"
    for icon in english["icons"]:
        with client.get(icon["src"]) as picture:
            assert picture.status_code == 200, icon["src"]
            if icon["type"] == "image/png":
                width, height = Image.open(io.BytesIO(picture.data)).size
                assert icon["sizes"] == f"{width}x{height}"
