"""UTC storage, local display: every datetime in the database is naive UTC."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo


def utcnow():
    """The current time as a naive UTC datetime, the form stored in the database."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_local(moment, timezone):
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))


def to_utc(local_moment, timezone):
    """Interpret a naive local datetime in ``timezone`` and return naive UTC."""
    if local_moment.tzinfo is None:
        local_moment = local_moment.replace(tzinfo=ZoneInfo(timezone))
    return local_moment.astimezone(UTC).replace(tzinfo=None)


def local_midnight_utc(day, timezone):
    """The start of local date ``day`` in ``timezone``, as naive UTC."""
    return to_utc(datetime.combine(day, time()), timezone)
