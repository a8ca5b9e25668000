"""flask points honor-compute / honor-publish."""

from datetime import timedelta

from points_service.honor import service as honor

from .conftest import MARCH_FIRST_UTC, serve


def test_compute_prints_the_draft_and_publish_publishes_it(build, runner, tree):
    serve(build, build.volunteer(name="Cli"), MARCH_FIRST_UTC + timedelta(days=1), minutes=45)

    computed = runner.invoke(
        args=[
            "points",
            "honor-compute",
            "--org",
            "Test City",
            "--period",
            "month",
            "--start",
            "2026-03-01",
            "--metric",
            "hours",
            "--size",
            "10",
        ]
    )
    assert computed.exit_code == 0, computed.output
    assert "C**" in computed.output and "45 min" in computed.output
    roll_id = int(computed.output.split()[3].rstrip(":"))

    published = runner.invoke(args=["points", "honor-publish", str(roll_id)])
    assert published.exit_code == 0, published.output
    assert honor.get_published_honor_roll(roll_id).status == "published"


def test_bad_input_exits_with_the_message(build, runner, tree):
    result = runner.invoke(
        args=[
            "points",
            "honor-compute",
            "--org",
            "Test City",
            "--period",
            "week",
            "--start",
            "2026-03-01",
            "--metric",
            "hours",
        ]
    )
    assert result.exit_code == 2
    assert "month, quarter, year" in result.output
    assert runner.invoke(args=["points", "honor-publish", "42"]).exit_code == 2
