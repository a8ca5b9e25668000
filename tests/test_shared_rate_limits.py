"""Several app processes share rate limits through Redis, and their metrics through
PROMETHEUS_MULTIPROC_DIR: real gunicorn servers, one Redis for the module (Debian's
redis-server), all on free ports and stopped by process id."""

import http.client
import re

import pytest

from tests.servers import gunicorn_server, redis_server

TOKEN = "shared-state-metrics-token"
HEALTH_COUNT = r'points_http_requests_total\{endpoint="public.health",method="GET",status="200"\} (\S+)'


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def _status(server, path, headers=None):
    connection = http.client.HTTPConnection(server, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _poster(server):
    """A limited page (20 a minute per address); the limit is counted before the 404."""
    return _status(server, "/honor/999/poster.pdf")[0]


def test_two_app_servers_share_one_rate_limit_in_redis(tmp_path, database_url, redis_url):
    settings = {"DATABASE_URL": database_url, "RATELIMIT_STORAGE_URI": redis_url}
    with (
        gunicorn_server(tmp_path / "a", "--workers", "1", **settings) as first,
        gunicorn_server(tmp_path / "b", "--workers", "1", **settings) as second,
    ):
        answers = [_poster(first) for _ in range(12)] + [_poster(second) for _ in range(8)]

        assert set(answers) == {404}  # twenty a minute from one address are allowed ...
        assert _poster(second) == 429  # ... in all: the twenty-first is refused by either server
        assert _poster(first) == 429


def test_several_workers_with_redis_start_and_report_the_requests_of_every_worker(tmp_path, database_url, redis_url):
    settings = {"DATABASE_URL": database_url, "RATELIMIT_STORAGE_URI": redis_url, "METRICS_TOKEN": TOKEN}
    with gunicorn_server(tmp_path, "--workers", "2", **settings) as server:
        answers = [_status(server, "/healthz")[0] for _ in range(30)]
        scrapes = [_status(server, "/metrics", {"Authorization": f"Bearer {TOKEN}"}) for _ in range(2)]

    assert set(answers) == {200}
    for status, text in scrapes:  # whichever worker answers the scrape counts all thirty
        assert status == 200
        counted = re.search(HEALTH_COUNT, text)
        assert counted and float(counted.group(1)) == 30.0, text[:2000]
