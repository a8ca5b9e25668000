"""Test-data builders for the api domain (a mixin of tests.builders.Builder)."""

import itertools
import uuid

from points_service.api import token_service

_token_names = itertools.count(1)


class ApiBuilder:
    def token(self, user, role=None, organization=None, days=None):
        """An API token for ``user`` (optionally narrowed to a role and a subtree): the plaintext."""
        _row, plaintext = token_service.issue_api_token(
            user, name=f"test token {next(_token_names)}", role=role, organization=organization, days=days
        )
        return plaintext

    def bearer(self, user, role=None, organization=None, **headers):
        """Request headers carrying a new token for ``user``, plus any ``headers`` given."""
        return {"Authorization": f"Bearer {self.token(user, role, organization)}", **headers}

    @staticmethod
    def idempotency_key():
        return str(uuid.uuid4())
