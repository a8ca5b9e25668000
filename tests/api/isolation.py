"""Requests that start with a fresh ``flask.g``, as they do in production.

The ``app`` fixture holds one application context for the whole test, and Flask lets
each request of the test client reuse it, so ``g`` (where Flask-Login keeps the
current user and Flask-WTF the CSRF token) would carry over from one request to the
next. Tests about sessions, CSRF and authorization use this fixture.
"""

import pytest
from flask import g, request_started


@pytest.fixture
def isolated_requests(app):
    def start_fresh(sender, **extra):
        for name in list(g):
            g.pop(name)

    request_started.connect(start_fresh, app)
    yield
    request_started.disconnect(start_fresh, app)
