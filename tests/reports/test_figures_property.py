"""Random mixes of approvals, reversals, redemptions, voids, expiries and moves of a
street to another district: the monthly figures always equal what the raw tables say,
and so does the dashboard of every node of the tree."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from points_service.activities import service as activities
from points_service.errors import PointsError
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.organizations import service as organizations
from points_service.organizations.models import Organization
from points_service.perks import service as perks
from points_service.reports import service as dashboard
from points_service.timeutil import utcnow
from tests.builders.perks import redeem_with_code, request_key, stars
from tests.reports.helpers import dashboard_figures, raw_dashboard_figures, raw_figures, stored_figures

pytestmark = pytest.mark.slow

VOLUNTEERS = 3
OPERATIONS = st.one_of(
    st.tuples(
        st.just("approve"),
        st.integers(0, VOLUNTEERS - 1),
        st.integers(0, 3),  # community
        st.integers(1, 120),  # days ago
        st.sampled_from(["elderly_care", "patrol"]),
    ),
    st.tuples(st.just("reverse"), st.integers(0, 50)),
    st.tuples(st.just("redeem"), st.integers(0, VOLUNTEERS - 1), st.integers(1, 2)),
    st.tuples(st.just("reserve"), st.integers(0, VOLUNTEERS - 1)),
    st.tuples(st.just("hand_over"), st.integers(0, 50)),
    st.tuples(st.just("void"), st.integers(0, 50)),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("expire"), st.integers(0, VOLUNTEERS - 1), st.integers(1, 9)),
    st.tuples(st.just("move"), st.integers(0, 1), st.integers(0, 1)),  # street, to district
)


class World:
    def __init__(self, build):
        tree = build.tree()
        self.build, self.tree = build, tree
        self.communities = tree["communities"]
        self.district = tree["districts"][0]
        self.volunteers = [build.volunteer(self.communities[i % 2]) for i in range(VOLUNTEERS)]
        self.admin = build.staff("admin", tree["city"])
        self.clerk = build.counter_clerk(self.district)
        self.perk = build.perk(points_cost=5)
        self.approved, self.redemptions, self.reserved = [], [], []
        self.slot = 0

    def pick(self, items, index):
        return items[index % len(items)] if items else None

    def run(self, operation):
        kind, *args = operation
        getattr(self, kind)(*args)

    def approve(self, volunteer, community, days_ago, category):
        self.slot += 1  # a distinct start for every record: never overlapping
        start = (utcnow() - timedelta(days=days_ago, minutes=3 * self.slot)).replace(second=0, microsecond=0)
        record = self.build.record(
            self.volunteers[volunteer],
            organization=self.communities[community],
            started_at=start,
            minutes=60 + 30 * (self.slot % 3),
            category=category,
        )
        self.approved.append(activities.approve_record(self.build.approver(self.communities[community]), record.id))

    def reverse(self, index):
        record = self.pick(self.approved, index)
        if record is not None:
            activities.reverse_record(self.admin, record.id, "entered by mistake")

    def redeem(self, volunteer, quantity):
        member_no = self.volunteers[volunteer].volunteer.member_no
        self.redemptions.append(
            redeem_with_code(
                self.clerk, self.district, member_no, self.perk.id, quantity, request_key(), level_of=stars(0)
            )
        )

    def reserve(self, volunteer):
        redemption = perks.reserve_perk(self.volunteers[volunteer], self.perk.id, 1, request_key(), level_of=stars(0))
        self.reserved.append(redemption)
        self.redemptions.append(redemption)

    def hand_over(self, index):
        redemption = self.pick(self.reserved, index)
        if redemption is not None:
            perks.fulfil_voucher(self.clerk, self.district, redemption.voucher_code, request_key())

    def void(self, index):
        redemption = self.pick(self.redemptions, index)
        if redemption is not None:
            perks.void_redemption(self.admin, redemption.id, "mistake")

    def cancel(self, index):
        redemption = self.pick(self.reserved, index)
        if redemption is not None:
            perks.cancel_reservation(self.volunteers[self.volunteers_index(redemption)], redemption.id)

    def volunteers_index(self, redemption):
        return next(i for i, v in enumerate(self.volunteers) if v.volunteer.id == redemption.volunteer_id)

    def move(self, street, district):
        organizations.move_organization(self.admin, self.tree["streets"][street], self.tree["districts"][district])

    def nodes(self):
        return [
            db.session.get(Organization, node.id)
            for nodes in self.tree.values()
            for node in (nodes if isinstance(nodes, list) else [nodes])
        ]

    def expire(self, volunteer, points):
        account = self.build.account(self.volunteers[volunteer])
        now = utcnow()
        ledger.earn_points(
            account.id, points, reason="test", expires_at=now - timedelta(minutes=1), now=now - timedelta(minutes=2)
        )
        ledger.expire_due_lots()


@settings(
    max_examples=8,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=14))
def test_random_changes_keep_the_figures_equal_to_the_raw_tables(build, operations):
    world = World(build)
    for operation in operations:
        try:
            world.run(operation)
        except PointsError:
            db.session.rollback()  # refused (no points, already undone, ...): it must count nothing
    db.session.expire_all()
    assert stored_figures() == raw_figures()
    for node in world.nodes():
        months = dashboard.month_span(*dashboard.default_range(node))
        figures = dashboard_figures(dashboard.build_dashboard(world.admin, node, months))
        assert figures == raw_dashboard_figures(node, months), node
