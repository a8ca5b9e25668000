"""The reports dashboard through HTTP: the figures on the page, the same figures in the
downloaded files, and nothing of another community."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from points_service.exports import neutralise
from points_service.timeutil import utcnow
from tests.builders import PASSWORD
from tests.builders.perks import redeem_with_code, request_key, stars

REPORTS = ("active", "hours", "points", "flow", "perks", "counters", "balance", "backlog")


class ReportTables(HTMLParser):
    """{report name: [[cell text, ...], ...]} of the tables beside the charts, header row first."""

    def __init__(self):
        super().__init__()
        self.tables, self.report, self.row, self.cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and (attrs.get("id") or "").startswith("report-"):
            self.report = attrs["id"].removeprefix("report-")
            self.tables[self.report] = []
        elif tag == "tr" and self.report:
            self.row = []
        elif tag in ("th", "td") and self.row is not None:
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.report].append(self.row)
            self.row = None
        elif tag == "section":
            self.report = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def page_tables(html):
    parser = ReportTables()
    parser.feed(html)
    return parser.tables


def page_number(text):
    return Decimal(text.replace(",", ""))


def days_ago(days):
    return (utcnow() - timedelta(days=days)).replace(second=0, microsecond=0)


@pytest.fixture
def city(build):
    return build.tree()["city"]


@pytest.fixture
def activity(build, city):
    """Service in two communities of district 1 and one of district 2, a redemption, a pending record."""
    tree = build.tree()
    first, second, far = (build.volunteer(tree["communities"][i]) for i in (0, 1, 3))
    build.approved_record(first, started_at=days_ago(1), minutes=90)
    build.approved_record(first, organization=tree["communities"][1], started_at=days_ago(2), category="patrol")
    build.approved_record(second, organization=tree["communities"][1], started_at=days_ago(3), minutes=120)
    build.approved_record(far, organization=tree["communities"][3], started_at=days_ago(1), minutes=600)
    build.record(second, started_at=days_ago(5))
    perk = build.perk(points_cost=5, name='=HYPERLINK("http://x")')
    district = tree["districts"][0]
    redeem_with_code(
        build.counter_clerk(district), district, first.volunteer.member_no, perk.id, 1, request_key(), level_of=stars(0)
    )
    return tree


def login(client, auth, user):
    auth.login(user.username, PASSWORD)


def test_the_xlsx_of_every_report_has_the_figures_of_the_page(client, build, auth, city, activity):
    login(client, auth, build.staff("admin", city))
    tables = page_tables(client.get("/admin/reports").get_data(as_text=True))
    assert set(tables) == set(REPORTS)

    for name in REPORTS:
        response = client.get(f"/admin/reports/{name}.xlsx")
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        page = tables[name]
        assert rows[0] == page[0], name
        # Labels are user text (a perk's name): the file neutralises what a spreadsheet would run.
        assert [row[0] for row in rows[1:]] == [neutralise(row[0]) for row in page[1:]], name
        for cells, shown in zip(rows[1:], page[1:], strict=True):
            assert [Decimal(str(value)) for value in cells[1:]] == [page_number(text) for text in shown[1:]], name


def test_the_page_shows_the_subtrees_figures(client, build, auth, city, activity):
    login(client, auth, build.staff("admin", city))
    tables = page_tables(client.get("/admin/reports").get_data(as_text=True))

    # Three volunteers served in the last days (in this month, or the last one too).
    assert 3 <= sum(page_number(row[1]) for row in tables["active"][-2:]) <= 6
    assert tables["hours"][0] == ["Month", "Elderly care", "Neighbourhood patrol"]
    total = sum(sum(page_number(cell) for cell in row[1:]) for row in tables["hours"][1:])
    assert total == Decimal("14.5")  # 1.5 + 1 + 2 + 10 hours
    assert tables["perks"][1][1:] == ["1", "5"]
    assert tables["counters"][1] == ["District 1", "1", "5"]
    assert tables["backlog"][1] == ["up to 2 days", "1"]  # waiting since it was entered


def test_the_csv_starts_with_a_byte_order_mark_and_neutralises_formulas(client, build, auth, city, activity):
    login(client, auth, build.staff("admin", city))
    response = client.get("/admin/reports/perks.csv")
    assert response.status_code == 200
    assert response.data.startswith("\ufeff".encode())
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows == [["Perk", "Redemptions", "Points"], ['\'=HYPERLINK("http://x")', "1", "5"]]


def test_a_community_admin_sees_only_their_community_and_404_elsewhere(client, build, auth, activity):
    mine, theirs = activity["communities"][0], activity["communities"][3]
    login(client, auth, build.staff("admin", mine))

    tables = page_tables(client.get("/admin/reports").get_data(as_text=True))
    total = sum(sum(page_number(cell) for cell in row[1:]) for row in tables["hours"][1:])
    assert total == Decimal("1.5")
    assert client.get(f"/admin/reports?org={mine.id}").status_code == 200
    for url in (
        f"/admin/reports?org={theirs.id}",
        f"/admin/reports/hours.csv?org={theirs.id}",
        "/admin/reports?org=abc",
    ):
        assert client.get(url).status_code == 404
    assert client.get(f"/admin/reports?org={activity['city'].id}").status_code == 404


def test_organizers_and_counter_staff_are_refused(client, build, auth, activity):
    for user in (build.staff("organizer"), build.counter_clerk()):
        login(client, auth, user)
        assert client.get("/admin/reports").status_code == 403
        assert client.get("/admin/reports/hours.xlsx").status_code == 403
        auth.logout()


def test_a_wrong_month_is_refused_naming_the_field(client, build, auth, city):
    login(client, auth, build.staff("admin", city))
    for query, words in (
        ("from=2026-13", "Give the first month"),
        ("to=May", "Give the last month"),
        ("from=2026-05&to=2026-01", "must not come before"),
        ("from=2010-01&to=2026-01", "at most 60 months"),
    ):
        response = client.get(f"/admin/reports?{query}")
        assert response.status_code == 422, query
        assert words in response.get_data(as_text=True)
    assert client.get("/admin/reports/nothing.csv").status_code == 404


def test_the_dashboard_speaks_chinese(client, build, auth, city, activity):
    login(client, auth, build.staff("admin", city))
    page = client.get("/admin/reports", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    tables = page_tables(page)
    assert tables["hours"][0] == ["月份", "助老服务", "治安巡逻"]
    assert "按月活跃志愿者" in page
    assert tables["active"][-1][0].endswith("月")
