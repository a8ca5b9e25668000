"""Demo activities for ``flask points demo`` (a step of ``points_service.demo``, after the
rules step): past activities with approved and pending check-in records, one running
now (its QR code is live on the organizer's page), one tomorrow with sign-ups, and a
volunteer's own report waiting for approval. Everything goes through the services."""

from datetime import datetime, time, timedelta

from sqlalchemy import select

from ..accounts.models import User, VolunteerProfile
from ..extensions import db
from ..timeutil import to_local, to_utc, utcnow
from . import service

# Titles and places are demo data in the demo city's language, like its names.
PLANS = [
    # (days from today, local start hour, hours, category, title, place, volunteers, approve)
    (-6, 9, 3, "elderly_care", "敬老院陪伴", "和平里敬老院", 8, True),
    (-3, 14, 2, "clean_up", "社区环境清洁", "青年湖公园北门", 10, True),
    (-1, 19, 2, "neighbourhood_patrol", "夜间治安巡逻", "和平里社区服务站", 6, False),
]


def create_demo_activities(city, communities, **kwargs):
    home = communities[0]
    organizer = _user("organizer")
    admin = _user("admin")
    if organizer is None or admin is None:
        return
    volunteers = (
        db.session.execute(
            select(User)
            .join(VolunteerProfile, VolunteerProfile.user_id == User.id)
            .where(VolunteerProfile.home_organization_id == home.id)
            .order_by(User.id)
            .limit(12)
        )
        .scalars()
        .all()
    )
    today = to_local(utcnow(), home.timezone).date()
    for days, hour, hours, category, title, place, count, approve in PLANS:
        starts_at = to_utc(datetime.combine(today + timedelta(days=days), time(hour)), home.timezone)
        activity = _activity(organizer, home, title, category, place, starts_at, hours, capacity=count + 2)
        for volunteer in volunteers[:count]:
            service.sign_up(volunteer, activity.id, now=starts_at - timedelta(days=2))
            for moment in (starts_at, activity.ends_at):
                code = service.current_checkin_code(organizer, activity.id, now=moment).code
                service.check_in_with_code(volunteer, activity.id, code, now=moment)
        if approve:
            service.approve_activity(organizer, activity.id, now=activity.ends_at + timedelta(hours=2))
    now = utcnow().replace(second=0, microsecond=0)
    running = _activity(
        organizer, home, "防疫值守", "epidemic_duty", "和平里社区卫生站", now - timedelta(minutes=30), 3, capacity=6
    )
    for volunteer in volunteers[8:11]:
        service.sign_up(volunteer, running.id, now=running.starts_at - timedelta(days=1))
    tomorrow = to_utc(datetime.combine(today + timedelta(days=1), time(9, 30)), home.timezone)
    upcoming = _activity(organizer, home, "周末助学辅导", "tutoring", "和平里社区图书室", tomorrow, 2, capacity=3)
    for volunteer in volunteers[:4]:  # the fourth lands on the waiting list
        service.sign_up(volunteer, upcoming.id)
    reported_at = to_utc(datetime.combine(today - timedelta(days=2), time(15)), home.timezone)
    service.report_service(
        volunteers[0],
        category="elderly_care",
        started_at=reported_at,
        ended_at=reported_at + timedelta(minutes=90),
        evidence="陪同楼下独居的刘奶奶去社区医院复诊，刘奶奶的女儿可以证明。",
    )


def _user(username):
    return db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def _activity(organizer, home, title, category, place, starts_at, hours, capacity):
    return service.create_activity(
        organizer,
        organization=home,
        title=title,
        category=category,
        place=place,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        capacity=capacity,
        description="",
        now=starts_at - timedelta(days=7),
    )
