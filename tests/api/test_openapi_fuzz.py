"""Schemathesis against the WSGI app, from the OpenAPI document, with a bearer token.

Every operation gets generated valid and invalid input (a bounded number of examples,
derandomized so a run is repeatable): no response may be a server error, and every
response must be documented (status code, content type, headers, body schema).
``API_FUZZ_SCALE=20 API_FUZZ_RANDOM=1`` runs a deeper, fresh search by hand.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.builders.perks import request_key, stars

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# API_FUZZ_SCALE=20 (and API_FUZZ_RANDOM=1 for fresh examples) makes a deeper run by hand.
SCALE = int(os.environ.get("API_FUZZ_SCALE", "1"))
EXAMPLES = {GenerationMode.POSITIVE: 20 * SCALE, GenerationMode.NEGATIVE: 10 * SCALE}
DERANDOMIZE = os.environ.get("API_FUZZ_RANDOM") != "1"


def _seed(build):
    """Some of everything, so generated ids and codes sometimes find a real row."""
    from points_service.perks import service as perks

    tree = build.tree()
    admin = build.staff("admin", tree["city"])
    volunteers = [build.volunteer(points=500) for _ in range(3)]
    perk = build.perk(points_cost=5, stock=1000, venues=[tree["city"]])
    perks.reserve_perk(volunteers[0], perk.id, 1, request_key(), level_of=stars(0))
    activity = build.activity()
    build.checked_in_roster(activity, volunteers[1:])
    build.record(volunteers[0])
    build.honor_roll(tree["city"])
    return admin


@pytest.mark.slow
def test_every_operation_answers_generated_input_as_documented(app, build):
    headers = {"Authorization": f"Bearer {build.token(_seed(build))}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13

    for operation in operations:
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=DERANDOMIZE,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check_operation(case):
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS)

            check_operation()
