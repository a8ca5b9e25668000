"""deploy/: every scheduled job the cron file and the systemd timers run is a command that
exists (the jobs themselves: tests/test_jobs.py)."""

import configparser
import os
import shlex
import subprocess

from points_service.cli import points_cli

DEPLOY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "deploy")
SCHEDULED = {
    "expire",
    "expiry-notices",
    "honor-draft-due",
    "reports-rebuild",
    "idempotency-purge",
    "backup",
    "verify",
    "calendar-status",
}


def _unit(name):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(os.path.join(DEPLOY, "systemd", name))
    return parser


def test_the_cron_file_runs_each_scheduled_command_that_exists():
    commands = set()
    with open(os.path.join(DEPLOY, "cron.d-volunteer-points")) as cron:
        for line in cron:
            if line.strip() and not line.startswith("#"):
                fields = line.split(None, 6)
                assert fields[5] == "points" and fields[6].startswith("/srv/points/deploy/run-job.sh "), line
                commands.add(shlex.split(fields[6])[1])
    assert commands == SCHEDULED
    assert commands <= set(points_cli.commands)


def test_the_systemd_timers_start_units_that_run_existing_commands():
    commands = set()
    timers = [name for name in os.listdir(os.path.join(DEPLOY, "systemd")) if name.endswith(".timer")]
    for timer in timers:
        unit = _unit(timer)["Timer"]["Unit"]
        if unit.startswith("volunteer-points-job@"):
            assert os.path.exists(os.path.join(DEPLOY, "systemd", "volunteer-points-job@.service"))
            commands.add(unit.removeprefix("volunteer-points-job@").removesuffix(".service"))
        else:
            assert "run-job.sh backup " in _unit(unit)["Service"]["ExecStart"]
            commands.add("backup")
    assert commands == SCHEDULED


def test_the_job_runner_runs_a_command_with_the_settings_of_its_env_file(tmp_path, database_url):
    settings = tmp_path / "points.env"
    settings.write_text(f"INSTANCE_PATH='{tmp_path}/instance'\nDATABASE_URL='{database_url}'\n")
    result = subprocess.run(
        [os.path.join(DEPLOY, "run-job.sh"), "org-list"],
        env={"PATH": os.environ["PATH"], "POINTS_ENV_FILE": str(settings)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("no organizations yet")
