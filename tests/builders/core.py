"""Builders for test data, in one place. They call the domain services, so test data
obeys the same rules as real data."""

import itertools

from points_service.accounts import service as accounts
from points_service.ledger import service as ledger
from points_service.organizations.service import create_organization

PASSWORD = "correct-horse-7"
_counter = itertools.count(1)


class CoreBuilder:
    def __init__(self, app):
        self.app = app
        self._tree = None
        self._password_hash = None

    def tree(self):
        """A city with two districts; each has a street with two communities."""
        if self._tree is None:
            city = create_organization("Test City", "city")
            districts, streets, communities = [], [], []
            for d in range(2):
                district = create_organization(f"District {d + 1}", "district", city)
                street = create_organization(f"Street {d + 1}", "street", district)
                districts.append(district)
                streets.append(street)
                for c in range(2):
                    communities.append(create_organization(f"Community {d + 1}.{c + 1}", "community", street))
            self._tree = {"city": city, "districts": districts, "streets": streets, "communities": communities}
        return self._tree

    @property
    def community(self):
        return self.tree()["communities"][0]

    def volunteer(self, community=None, points=0, name="Zhang San", mobile=None):
        """A volunteer (user) with ``points`` earned as one lot."""
        number = next(_counter)
        if self._password_hash is None:
            self._password_hash = accounts.hash_password(PASSWORD)
        user = accounts.create_volunteer(
            name=name,
            mobile=mobile or f"138{number:08d}",
            home=community or self.community,
            password_hash=self._password_hash,
            consent_version="test",
        )
        if points:
            ledger.earn_points(
                self.account(user).id, points, reason="test earning", cause_type="test", cause_id=str(number)
            )
        return user

    def account(self, user):
        return ledger.account_of_volunteer(user.volunteer.id)

    def service_account(self, role, organization=None, username=None, created_by=None):
        """A service account holding ``role`` on ``organization``, created by an admin of the city."""
        number = next(_counter)
        account = accounts.create_service_account(
            username=username or f"service{number}",
            name=f"Service {number}",
            created_by=created_by or self.staff("admin", self.tree()["city"]),
        )
        accounts.grant_role(account, role, organization or self.community)
        return account

    def staff(self, role, organization=None, username=None):
        number = next(_counter)
        user = accounts.create_user(
            username=username or f"{role}{number}", name=f"{role.title()} {number}", password=PASSWORD
        )
        accounts.grant_role(user, role, organization or self.community)
        return user
