"""Demo data for ``make run`` and for trying the product: idempotent, fixed seed.

Demo passwords exist only here. Each domain adds its part in ``DEMO_STEPS`` order.
"""

import random
from datetime import timedelta

from sqlalchemy import select

from .accounts import service as accounts
from .accounts.models import User
from .extensions import db
from .ledger import service as ledger
from .organizations.models import Organization
from .organizations.service import create_organization
from .timeutil import utcnow

CITY = "示范市"
LOGINS = [
    ("admin", "admin-demo-2026", "admin", "city"),
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
    account = ledger.account_of_volunteer(user.volunteer.id)
    now = utcnow()
    for index in range(rng.randint(1, 6)):
        moment = now - timedelta(days=rng.randint(5, 300), hours=rng.randint(0, 20))
        ledger.earn_points(
            account.id,
            rng.choice([10, 20, 30, 40, 60]),
            reason="Demo: community service",
            cause_type="demo",
            cause_id=f"{user.id}-{index}",
            now=moment,
            expires_at=moment + timedelta(days=730),
        )
    if rng.random() < 0.4:
        ledger.spend_points(
            account.id, min(account.balance, rng.choice([10, 20])), reason="Demo: points supermarket", cause_type="demo"
        )


DEMO_STEPS = []
