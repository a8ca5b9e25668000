from datetime import datetime

import pytest

from points_service.extensions import db

# March 2026 in Asia/Shanghai (UTC+8) is [2026-02-28 16:00, 2026-03-31 16:00) in UTC.
MARCH_FIRST_UTC = datetime(2026, 2, 28, 16, 0)
APRIL_FIRST_UTC = datetime(2026, 3, 31, 16, 0)


@pytest.fixture
def tree(build):
    build.honor_rules()
    return build.tree()


def serve(build, volunteer, started_at, minutes=60, category="elderly_care", organization=None):
    """An approved record of ``volunteer``."""
    return build.approved_record(
        volunteer, started_at=started_at, minutes=minutes, category=category, organization=organization
    )


def opt_out(user):
    user.volunteer.public_listing_opt_out = True
    db.session.commit()
