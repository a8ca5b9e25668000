"""Leave notices for people and let them read and dismiss them.

A notice is written in the same transaction as the change it tells about, so nobody is
told of a change that did not happen. Kinds are registered with the facts they carry;
the page turns kind and facts into words in the reader's language
(``templates/notices/_list.html``).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from ..extensions import db
from ..inputs import MAX_ID
from ..timeutil import utcnow
from .models import Notice

KINDS = {
    # an activity the person signed up for moved or changed: params {activity_id, title, changes: [...]}
    "activity.changed",
    # a place came free and the person moved up from the waiting list: params {activity_id, title}
    "activity.place_confirmed",
    # some of the person's points expire soon (expiring.py): params {points, expires_at, timezone}
    "points.expiring",
}
SHOWN = 20


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _read_back(name, value):
    """Stored facts as the page wants them: moments (names ending in ``_at``) as datetimes."""
    if name.endswith("_at") and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return value


@dataclass(frozen=True)
class NoticeView:
    id: int
    kind: str
    facts: dict
    created_at: datetime


def notify(user_ids, kind, params, now=None):
    """Leave the same notice for each of ``user_ids`` (in the caller's transaction)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    now = now or utcnow()
    stored = {key: _plain(value) for key, value in params.items()}
    db.session.add_all(Notice(user_id=user_id, kind=kind, params=stored, created_at=now) for user_id in set(user_ids))
    db.session.flush()


def unread_notices(user, limit=SHOWN):
    """The person's unread notices, newest first, as ``NoticeView``s."""
    unread = select(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
    notices = db.session.execute(unread.order_by(Notice.id.desc()).limit(limit)).scalars()
    return [
        NoticeView(
            id=notice.id,
            kind=notice.kind,
            facts={name: _read_back(name, value) for name, value in notice.params.items()},
            created_at=notice.created_at,
        )
        for notice in notices
    ]


def dismiss(user, notice_id=None, now=None):
    """Mark one of the person's notices read (or all of them when ``notice_id`` is None).

    Someone else's notice, or one that does not exist, is left alone: nothing tells the
    caller whether it exists.
    """
    condition = [Notice.user_id == user.id, Notice.read_at.is_(None)]
    if notice_id is not None:
        if not isinstance(notice_id, int) or isinstance(notice_id, bool) or not 0 < notice_id <= MAX_ID:
            return 0
        condition.append(Notice.id == notice_id)
    result = db.session.execute(update(Notice).where(*condition).values(read_at=now or utcnow()))
    db.session.commit()
    return result.rowcount
