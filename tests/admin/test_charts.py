"""Charts drawn on the server: an SVG image with nothing to fetch, and the figures beside it."""

import base64

import pytest
from flask import render_template_string

from admin.charts import chart


def _svg(drawn):
    source = drawn.data_uri.split("base64,", 1)[1]
    return base64.b64decode(source).decode("utf-8")


def test_a_chart_is_an_image_with_its_figures_in_a_table_beside_it(app):
    drawn = chart("bar", "每月积分", ["2026-10", "2026-11"], [("积分", [120, 80]), ("小时", [12, None])])
    assert drawn.rows == [("2026-10", [120, 12]), ("2026-11", [80, None])]
    svg = _svg(drawn)
    assert svg.startswith("<svg") and "每月积分" in svg
    assert "http://" not in svg.replace("http://www.w3.org", "").replace("http://pygal.org", "").replace(
        "http://github.com/Kozea/pygal", ""
    )
    with app.test_request_context():
        html = render_template_string(
            '{% from "admin/_chart.html" import chart_with_table %}{{ chart_with_table(c, "月份") }}', c=drawn
        )
    assert 'alt="每月积分"' in html
    assert '<th scope="row">2026-11</th>' in html and "—" in html


def test_the_title_is_escaped_in_the_image_tag(app):
    drawn = chart("line", '"><script>alert(1)</script>', ["a"], [("s", [1])])
    with app.test_request_context():
        html = render_template_string(
            '{% from "admin/_chart.html" import chart_with_table %}{{ chart_with_table(c, "x") }}', c=drawn
        )
    assert "<script>" not in html


def test_a_series_must_have_one_value_per_label():
    with pytest.raises(ValueError):
        chart("bar", "t", ["a", "b"], [("s", [1])])
