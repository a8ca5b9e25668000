"""Test-data builders for the perks domain (a mixin of tests.builders.Builder)."""

import uuid
from dataclasses import dataclass

from points_service.accounts import member_codes
from points_service.accounts.service import volunteer_by_member_number
from points_service.errors import PointsError
from points_service.idempotency_keys import client_key
from points_service.perks import service as perks


@dataclass(frozen=True)
class Level:
    """Stands in for the rules domain's star level in service tests."""

    stars: int
    hours: int = 0


def stars(count):
    """A ``level_of`` callable giving every volunteer ``count`` stars."""
    return lambda profile: Level(count, count * 100)


class PerksBuilder:
    def perk(self, *, organization=None, venues=None, name="Parking discount", kind="parking_discount", **options):
        """A perk owned by the city and honored in the first district unless told otherwise."""
        tree = self.tree()
        options.setdefault("points_cost", 10)
        return perks.create_perk(
            None,
            organization=organization or tree["city"],
            venues=venues or [tree["districts"][0]],
            name=name,
            kind=kind,
            **options,
        )

    def counter_clerk(self, organization=None, username=None):
        """A counter user whose counter is the first district (or ``organization``)."""
        return self.staff("counter", organization or self.tree()["districts"][0], username=username)


def request_key(name=None):
    """A request key as a face hands it to the perks service: derived into the client namespace."""
    return client_key("user:test", "test", name or str(uuid.uuid4()))


def spend_code(member_no, now=None):
    """The member's rotating code at ``now``, as their phone shows it (None for a number nobody has)."""
    try:
        profile = volunteer_by_member_number(member_no)
    except PointsError:
        return None
    return member_codes.rotating_code(profile, now).digits


def redeem_with_code(actor, counter_org, member_no, perk_id, quantity, key, *, level_of, now=None):
    """``perks.redeem_perk`` as a counter does it: the member number and the code on the member's phone."""
    return perks.redeem_perk(
        actor,
        counter_org,
        member_no,
        perk_id,
        quantity,
        key,
        level_of=level_of,
        credential=spend_code(member_no, now),
        now=now,
    )


def phone_scan(member_no, now=None):
    """What a scan of the member's phone gives: the member number and the rotating code, 18 digits."""
    return member_no + spend_code(member_no, now)
