"""Test-data builders for the api domain (a mixin of tests.builders.Builder)."""

import itertools
import uuid

from points_service.accounts import tokens

_token_names = itertools.count(1)


class ApiBuilder:
    def token(self, user, role=None, organization=None, days=None):
        """An API token for ``user`` (optionally narrowed to a role and a subtree): the plaintext.

        A person issues it for themselves; a service account's comes from the command line."""
        _row, plaintext = tokens.issue_api_token(
            user,
            name=f"test token {next(_token_names)}",
            role=role,
            organization=organization,
            days=days,
            actor=None if user.is_service_account else user,
        )
        return plaintext

    def bearer(self, user, role=None, organization=None, **headers):
        """Request headers carrying a new token for ``user``, plus any ``headers`` given."""
        return {"Authorization": f"Bearer {self.token(user, role, organization)}", **headers}

    @staticmethod
    def idempotency_key():
        return str(uuid.uuid4())
