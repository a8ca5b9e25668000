"""flask points honor-compute / honor-publish."""

from datetime import timedelta

from points_service.honor import service as honor

from .conftest import MARCH_FIRST_UTC, serve


def test_compute_prints_the_draft_then_one_admin_asks_to_publish_and_another_approves(build, runner, tree):
    serve(build, build.volunteer(name="Cli"), MARCH_FIRST_UTC + timedelta(days=1), minutes=45)
    build.staff("admin", tree["city"], username="asker")
    build.staff("admin", tree["city"], username="checker")

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
    assert "honor-publish" in computed.output
    roll_id = int(computed.output.split()[3].rstrip(":"))

    asked = runner.invoke(args=["points", "honor-publish", str(roll_id), "--actor", "asker"])
    assert asked.exit_code == 0, asked.output
    request_id = int(asked.output.split("change request ")[1].split()[0])
    assert honor.get_honor_roll(roll_id).status == "draft"

    listed = runner.invoke(args=["points", "change-list", "--actor", "checker"])
    assert f"{request_id:>5}  Publish an honor roll" in listed.output and "1. C**" in listed.output

    own = runner.invoke(args=["points", "change-approve", str(request_id), "--actor", "asker"])
    assert own.exit_code == 2 and "another person must review it" in own.output
    approved = runner.invoke(args=["points", "change-approve", str(request_id), "--actor", "checker"])
    assert approved.exit_code == 0, approved.output
    assert honor.get_published_honor_roll(roll_id).status == "published"


def test_a_draft_of_the_running_month_is_a_preview_the_command_line_cannot_publish(build, runner, tree):
    from points_service.timeutil import to_local, utcnow

    build.staff("admin", tree["city"], username="asker")
    this_month = to_local(utcnow(), "Asia/Shanghai").date().replace(day=1).isoformat()
    computed = runner.invoke(
        args=[
            "points",
            "honor-compute",
            "--org",
            "Test City",
            "--period",
            "month",
            "--start",
            this_month,
            "--metric",
            "points",
        ]
    )
    assert computed.exit_code == 0 and "preview" in computed.output
    roll_id = int(computed.output.split()[3].rstrip(":"))

    asked = runner.invoke(args=["points", "honor-publish", str(roll_id), "--actor", "asker"])

    assert asked.exit_code == 2 and "it can be published from" in asked.output
    assert runner.invoke(args=["points", "honor-publish", str(roll_id), "--actor", "nobody"]).exit_code == 2


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
    assert "month, quarter, or year" in result.output
    build.staff("admin", tree["city"], username="asker")
    missing = runner.invoke(args=["points", "honor-publish", "42", "--actor", "asker"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
