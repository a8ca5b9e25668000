"""Test-data builders for the perks domain (a mixin of tests.builders.Builder)."""

import uuid
from dataclasses import dataclass

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
