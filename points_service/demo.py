"""Demo data for ``make run`` and for trying the product: idempotent, fixed seed.

Demo passwords exist only here. Each domain adds its part in ``DEMO_STEPS`` order.
"""

import random
from datetime import timedelta

from sqlalchemy import select

from .accounts import service as accounts
from .accounts.models import User
from .extensions import db
from .i18n import N_
from .ledger import service as ledger
from .organizations.models import Organization
from .organizations.service import create_organization
from .timeutil import to_local, utcnow

CITY = "示范市"
LOGINS = [
    ("admin", "admin-demo-2026", "admin", "city"),
    # A second administrator: changes that need a second person (publishing an honor
    # roll, writing off a shortfall) are approved by someone other than who asked.
    ("reviewer", "reviewer-demo-2026", "admin", "city"),
    ("organizer", "organizer-demo-2026", "organizer", "community"),
    ("counter", "counter-demo-2026", "counter", "district"),
]
VOLUNTEER_PASSWORD = "volunteer-demo-2026"
FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def _tree():
    city = db.session.execute(select(Organization).where(Organization.name == CITY)).scalar_one_or_none()
    if city is not None:
        communities = (
            db.session.execute(
                select(Organization)
                .where(Organization.kind == "community", Organization.path.startswith(city.path))
                .order_by(Organization.id)
            )
            .scalars()
            .all()
        )
        districts = (
            db.session.execute(
                select(Organization)
                .where(Organization.kind == "district", Organization.path.startswith(city.path))
                .order_by(Organization.id)
            )
            .scalars()
            .all()
        )
        return city, districts, communities, False
    city = create_organization(CITY, "city")
    districts, communities = [], []
    for district_name, street_name, community_names in [
        ("东城区", "和平街道", ["和平里社区", "青年湖社区"]),
        ("西城区", "金融街街道", ["丰盛社区", "太平桥社区"]),
    ]:
        district = create_organization(district_name, "district", city)
        street = create_organization(street_name, "street", district)
        districts.append(district)
        communities.extend(create_organization(name, "community", street) for name in community_names)
    return city, districts, communities, True


def database_is_empty():
    return db.session.execute(select(Organization.id).limit(1)).first() is None


def load_demo(volunteers=200, seed=2026, create=True):
    """Create the demo data unless it exists; return the lines to print."""
    if not create:
        volunteer = db.session.execute(select(User).where(User.username == "volunteer")).scalar_one_or_none()
        if volunteer is None:
            return ["(no demo logins in this database)"]
    city, districts, communities, created = _tree()
    if created:
        rng = random.Random(seed)
        places = {"city": city, "district": districts[0], "community": communities[0]}
        for username, password, role, level in LOGINS:
            user = accounts.create_user(username=username, name=username.title(), password=password)
            accounts.grant_role(user, role, places[level])
        password_hash = accounts.hash_password(VOLUNTEER_PASSWORD)
        for number in range(volunteers):
            home = communities[number % len(communities)]
            name = rng.choice(FAMILY) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
            user = accounts.create_volunteer(
                name=name,
                mobile=f"139{number:08d}",
                home=home,
                password_hash=password_hash,
                consent_version="demo",
                username="volunteer" if number == 0 else None,
            )
            _history(user, rng)
        for step in DEMO_STEPS:
            step(city=city, districts=districts, communities=communities, rng=rng)
    volunteer = db.session.execute(select(User).where(User.username == "volunteer")).scalar_one()
    lines = ["Demo logins (user name / password):"]
    lines += [f"  {username:<10} {password:<22} {role} of {level}" for username, password, role, level in LOGINS]
    lines.append(f"  {'volunteer':<10} {VOLUNTEER_PASSWORD:<22} volunteer (other demo volunteers: 13900000001..)")
    lines.append(f"member number of volunteer: {volunteer.volunteer.member_no}")
    return lines


def _history(user, rng):
    """A few earlier earns and perhaps one purchase, written in date order (before the
    demo activities of the last week) so that every history reads oldest to newest."""
    account = ledger.account_of_volunteer(user.volunteer.id)
    now = utcnow()
    moments = sorted(
        now - timedelta(days=rng.randint(10, 300), hours=rng.randint(0, 20)) for _ in range(rng.randint(1, 6))
    )
    for index, moment in enumerate(moments):
        ledger.earn_points(
            account.id,
            rng.choice([10, 20, 30, 40, 60]),
            reason=N_("Community service"),
            cause_type="demo",
            cause_id=f"{user.id}-{index}",
            now=moment,
            expires_at=moment + timedelta(days=730),
        )
    if rng.random() < 0.4:
        ledger.spend_points(
            account.id,
            min(account.balance, rng.choice([10, 20])),
            reason=N_("Points supermarket purchase"),
            cause_type="demo",
            now=min(moments[-1] + timedelta(days=rng.randint(1, 30)), now - timedelta(days=8)),
        )


DEMO_CATEGORIES = [
    ("elderly_care", "Elderly care", "助老服务"),
    ("neighbourhood_patrol", "Neighbourhood patrol", "治安巡逻"),
    ("clean_up", "Clean-up", "环境清洁"),
    ("tutoring", "Tutoring", "助学辅导"),
    ("epidemic_duty", "Epidemic duty", "防疫值守"),
]
DEMO_RULES = {
    "rates": {
        code: {"points": 10, "per_minutes": 60, "minimum_minutes": 30, "rounding": {"mode": "down", "step_minutes": 30}}
        for code, _name_en, _name_zh in DEMO_CATEGORIES
    },
    "multipliers": {
        "weekend_percent": 120,
        "holiday_percent": 150,
        "night_percent": 120,
        "night_start": "22:00",
        "night_end": "06:00",
        "urgent_percent": 150,
        "stacking": "max",
    },
    "caps": {"per_record": 100, "per_day": 150, "per_month": 1000},
    "bonuses": {"first_service": 20, "milestones": [{"hours": 100, "points": 50}, {"hours": 300, "points": 100}]},
    "expiry": {"policy": "end_of_next_year"},
    "star_thresholds_hours": [100, 300, 600, 1000, 1500],
}


def _rules(city, **kwargs):
    """Service categories, the city's published rule table (effective from 2020) and a
    draft for next year that pays elderly care more and weekends double, to simulate."""
    import copy
    from datetime import date

    from .rules import service as rules

    for code, name_en, name_zh in DEMO_CATEGORIES:
        rules.create_category(None, code, name_en, name_zh)
    rule_set = rules.create_rule_set(None, city, DEMO_RULES, effective_from=date(2020, 1, 1), name="示范市积分规则")
    rules.publish_rule_set(None, rule_set)
    draft = copy.deepcopy(DEMO_RULES)
    draft["rates"]["elderly_care"]["points"] = 15
    draft["multipliers"]["weekend_percent"] = 200
    next_year = date(to_local(utcnow(), city.timezone).year + 1, 1, 1)
    rules.create_rule_set(None, city, draft, effective_from=next_year, name="示范市积分规则（草案）")


DEMO_PERKS = [
    # name, kind, points, owner, venues, extra fields
    (
        "停车优惠：2 小时免费",
        "parking_discount",
        30,
        "city",
        "districts",
        {"limit_quantity": 2, "limit_period": "month"},
    ),
    (
        "婚姻登记窗口优先办理",
        "priority_service",
        10,
        "city",
        "district",
        {"min_stars": 3, "limit_quantity": 1, "limit_period": "year"},
    ),
    (
        "户籍窗口优先办理",
        "priority_service",
        10,
        "city",
        "districts",
        {"min_stars": 3, "limit_quantity": 2, "limit_period": "year"},
    ),
    ("大米 5 公斤", "goods", 80, "district", "district", {"stock": 50, "limit_quantity": 1, "limit_period": "month"}),
    ("保温杯", "goods", 120, "district", "district", {"stock": 3}),
    (
        "社区理发（自付 5 元）",
        "other",
        20,
        "city",
        "district",
        {"copay_amount": 500, "limit_quantity": 1, "limit_period": "week"},
    ),
]


def _perks(city, districts, communities, **kwargs):
    """Perks honored at the first district, where the demo counter works (and some city-wide)."""
    from .perks import service as perks

    owners = {"city": city, "district": districts[0]}
    places = {"district": [districts[0]], "districts": districts}
    for name, kind, points, owner, venues, extra in DEMO_PERKS:
        perks.create_perk(
            None,
            organization=owners[owner],
            venues=places[venues],
            name=name,
            kind=kind,
            points_cost=points,
            terms="凭会员码或预约券在服务窗口兑换；积分兑换后不可转让。",
            **extra,
        )


def _activities(city, communities, **kwargs):
    """Activities with approved and pending check-in records (needs the rules step)."""
    from .activities.demo import create_demo_activities

    create_demo_activities(city, communities)


def _honor(city, **kwargs):
    """The city's hours and points honor rolls for each month that holds the demo's
    approved activities (a few days back: this month, and last month early in a month):
    drafts while the month runs, published (asked by one demo administrator, approved by
    the other) once it has ended (needs the activities step)."""
    from datetime import timedelta

    from .activities.demo import PLANS
    from .changes.service import approve_change
    from .honor import service as honor

    author, reviewer = (
        db.session.execute(select(User).where(User.username == name)).scalar_one() for name in ("admin", "reviewer")
    )
    today = to_local(utcnow(), city.timezone).date()
    months = sorted({(today + timedelta(days=plan[0])).replace(day=1) for plan in PLANS if plan[-1]})
    for month in months:
        for metric in ("hours", "points"):
            roll = honor.compute_honor_roll(None, city, "month", month, metric, 10)
            if honor.period_has_ended(roll):
                approve_change(reviewer, honor.request_honor_roll_publication(author, roll.id).id)


def _duplicates(**kwargs):
    """Someone who registered twice (a second mobile): the desk's duplicates page has a pair."""
    first = db.session.execute(select(User).where(User.mobile == "13900000001")).scalar_one_or_none()
    if first is None:
        return
    twin = accounts.create_volunteer(
        name=first.name,
        mobile="13800000001",
        home=first.volunteer.home_organization,
        password_hash=first.password_hash,
        consent_version="demo",
    )
    ledger.earn_points(
        ledger.account_of_volunteer(twin.volunteer.id).id,
        30,
        reason=N_("Community service"),
        cause_type="demo",
        cause_id=f"{twin.id}-0",
        expires_at=utcnow() + timedelta(days=365),
    )


DEMO_STEPS = [_rules, _perks, _activities, _honor, _duplicates]
