"""Schemathesis against a live server of the app, from its OpenAPI document: every phase
(examples, coverage, fuzzing, stateful) and every check, judged as ``schemathesis.toml`` says.

No response may be a server error; every response must be documented (status, content
type, headers, body); what the document calls invalid must be refused and what it
calls valid must not be refused as malformed. The run is small and derandomized so it
is repeatable; ``API_FUZZ_EXAMPLES=500 API_FUZZ_SEED=<n>`` runs a deeper one by hand.
Against a live server: ``schemathesis run http://127.0.0.1:5000/api/v1/openapi.json
-H "Authorization: Bearer $TOKEN"`` from the project root reads the same configuration.
"""

import os
import threading
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from werkzeug.serving import make_server

from tests.builders.perks import request_key, stars

CONFIG = Path(__file__).resolve().parents[2] / "schemathesis.toml"
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "40"))
SEED = int(os.environ.get("API_FUZZ_SEED", "16"))


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


@pytest.fixture
def server_url(app):
    """The app served over HTTP on a free local port, each request in its own thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def _schema(url):
    config = SchemathesisConfig.from_path(CONFIG)
    config.update(seed=SEED, max_failures=None)
    project = config.projects.default
    project.update(workers=1)
    project.generation.update(max_examples=EXAMPLES, deterministic=True)
    return schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json", config=config)


def _failures(stream):
    """Every failed check and every error of a run, as readable lines."""
    found = []
    for event in stream:
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        found.append(
                            f"{failure.operation}: {failure.title}: {failure.message}\n{check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            found.append(f"error: {event}")
    return found


@pytest.mark.slow
# A generated list of 10,000 ids is a fine input; hypothesis only warns that printing it is long.
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_every_operation_answers_generated_input_as_documented(app, build, server_url):
    admin = _seed(build)
    schema = _schema(server_url)
    assert len(list(schema.get_all_operations())) >= 16

    @schema.auth()
    class FreshToken:
        """A token of the seeded administrator; a new one when a request revoked it (401)."""

        def get(self, case, context):
            with app.app_context():
                return build.token(admin)

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    failures = _failures(schemathesis.engine.from_schema(schema).execute())
    assert not failures, "\n\n".join(failures)
