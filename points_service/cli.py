"""``flask --app wsgi points ...``: operations for administrators and for cron."""

import sys

import click
from flask.cli import AppGroup

from .errors import PointsError

points_cli = AppGroup("points", help="Volunteer Points administration.")


def _fail(error):
    click.echo(f"error: {error.render_message()}", err=True)
    sys.exit(2)


@points_cli.command("verify")
def verify_command():
    """Check the ledger invariants for every account; exit 1 on any discrepancy."""
    from .checks import run_all_checks

    report = run_all_checks()
    for account_id, problem in report.discrepancies:
        click.echo(f"account {account_id}: {problem}")
    click.echo(
        f"checked {report.accounts} accounts, {report.entries} entries: {len(report.discrepancies)} discrepancies"
    )
    sys.exit(1 if report.discrepancies else 0)


@points_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Load only when the database has no organization yet.")
def demo_command(if_empty):
    """Load idempotent demo data and print the demo logins."""
    from .demo import database_is_empty, load_demo

    if if_empty and not database_is_empty():
        click.echo("The database already has data; demo data not loaded. Existing demo logins, if any:")
    for line in load_demo(create=not if_empty or database_is_empty()):
        click.echo(line)


@points_cli.command("create-user")
@click.option("--username", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--mobile", default=None)
def create_user_command(username, name, password, mobile):
    """Create a staff user (grant roles with ``grant``)."""
    from .accounts.service import create_user

    try:
        user = create_user(username=username, name=name, password=password, mobile=mobile)
    except PointsError as error:
        _fail(error)
    click.echo(f"created user {user.username} (id {user.id})")


@points_cli.command("grant")
@click.argument("role")
@click.option("--user", "username", required=True, help="user name or mobile number")
@click.option("--org", "organization", required=True, help="organization id or exact name")
def grant_command(role, username, organization):
    """Grant ROLE (volunteer, organizer, counter, admin) on an organization subtree."""
    from .accounts.service import find_user, grant_role
    from .errors import NotFound
    from .organizations.service import find_organization

    try:
        user = find_user(username)
        if user is None:
            raise NotFound("No such user.")
        node = find_organization(organization)
        grant_role(user, role, node)
    except PointsError as error:
        _fail(error)
    click.echo(f"granted {role} on {node.name} to {username}")


@points_cli.command("expire")
def expire_command():
    """Expire due points lots and due online reservations (run it from cron)."""
    from .checks import run_expiry_jobs

    for line in run_expiry_jobs():
        click.echo(line)
