"""``flask --app wsgi points ...``: operations for administrators and for cron.

Every command that writes takes ``--actor NAME`` (default: the login name of the OS
user running it): the audit log records its changes as made by ``cli:NAME``.
"""

import functools
import getpass
import os
import sys

import click
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l

from .errors import PointsError


def _command_line_origin():
    """Every audit event a command writes says it came from the command line (one request id per run)."""
    from .audit.service import begin_request_origin, end_request_origin

    begin_request_origin(None, "cli")
    click.get_current_context().call_on_close(end_request_origin)


points_cli = AppGroup("points", help="Volunteer Points administration.", callback=_command_line_origin)


def _fail(error):
    click.echo(f"error: {error.render_message()}", err=True)
    sys.exit(2)


def _os_user():
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return f"uid{os.getuid()}"


def records_actor(command):
    """Give a writing command ``--actor``; the audit rows it writes name ``cli:ACTOR``."""
    from .audit.service import command_line_label, command_line_operator

    @click.option("--actor", default=None, metavar="NAME", help="who runs this, for the audit log (default: OS user)")
    @functools.wraps(command)
    def run_as_actor(*args, actor, **kwargs):
        try:
            label = command_line_label(actor if actor is not None else _os_user())
        except PointsError as error:
            _fail(error)
        with command_line_operator(label):
            return command(*args, **kwargs)

    return run_as_actor


def _acting_user(username):
    """The user a command acts as (``--actor``), found by user name or mobile number."""
    from .accounts.service import find_user
    from .errors import NotFound

    user = find_user(username)
    if user is None:
        raise NotFound(_l("No such user."))
    return user


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
@records_actor
@click.option("--if-empty", is_flag=True, help="Load only when the database has no organization yet.")
def demo_command(if_empty):
    """Load idempotent demo data and print the demo logins."""
    from .demo import database_is_empty, load_demo

    if if_empty and not database_is_empty():
        click.echo("The database already has data; demo data not loaded. Existing demo logins, if any:")
    for line in load_demo(create=not if_empty or database_is_empty()):
        click.echo(line)


@points_cli.command("org-add")
@records_actor
@click.argument("name")
@click.option("--kind", required=True, help="city, district, street or community")
@click.option("--parent", default=None, help="the parent: #id, name or path such as 示范市/东城区 (none for a city)")
@click.option("--timezone", default=None, help="IANA time zone; default the parent's, or Asia/Shanghai")
def org_add_command(name, kind, parent, timezone):
    """Add an organization to the tree (city > district > street > community)."""
    from .organizations.service import create_organization, find_organization

    try:
        node = create_organization(name, kind, find_organization(parent) if parent else None, timezone=timezone)
    except PointsError as error:
        _fail(error)
    click.echo(f"added {node.kind} {node.name} (id {node.id}, {node.timezone})")


@points_cli.command("org-list")
def org_list_command():
    """Print the organization tree with ids."""
    from .organizations.service import list_organizations

    nodes = list_organizations()
    for node in nodes:
        depth = len(node.ancestor_ids) - 1
        click.echo(f"{'  ' * depth}{node.id:>5}  {node.kind:<9} {node.name}  ({node.timezone})")
    if not nodes:
        click.echo("no organizations yet: add the city with  points org-add NAME --kind city")


@points_cli.command("create-user")
@records_actor
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


@points_cli.command("create-service-account")
@records_actor
@click.option("--username", required=True, help="the account's user name, e.g. counter-desk-3")
@click.option("--name", required=True, help="what it is, e.g. 'Dongcheng counter desk 3'")
@click.option("--created-by", "creator", required=True, help="the administrator who answers for it (user name)")
def create_service_account_command(username, name, creator):
    """Create a service account for an integration (grant it roles, then create-token)."""
    from .accounts.service import create_service_account, find_user

    try:
        account = create_service_account(username=username, name=name, created_by=find_user(creator))
    except PointsError as error:
        _fail(error)
    click.echo(f"created service account {account.username} (id {account.id}), answered for by {creator}")


@points_cli.command("grant")
@records_actor
@click.argument("role")
@click.option("--user", "username", required=True, help="user name or mobile number")
@click.option("--org", "organization", required=True, help="#id, name or path (names joined by /)")
def grant_command(role, username, organization):
    """Grant ROLE (volunteer, organizer, counter, admin) on an organization subtree."""
    from .accounts.service import find_user, grant_role
    from .errors import NotFound
    from .organizations.service import find_organization

    try:
        user = find_user(username)
        if user is None:
            raise NotFound(_l("No such user."))
        node = find_organization(organization)
        grant_role(user, role, node)
    except PointsError as error:
        _fail(error)
    click.echo(f"granted {role} on {node.name} to {username}")


@points_cli.command("expire")
@records_actor
def expire_command():
    """Expire due points lots and due online reservations (run it from cron)."""
    from .checks import run_expiry_jobs

    for line in run_expiry_jobs():
        click.echo(line)


@points_cli.command("expiry-notices")
@records_actor
def expiry_notices_command():
    """Tell volunteers of points that expire within their warning period, once (run it from cron)."""
    from .notices.expiring import leave_expiry_notices

    click.echo(f"left {leave_expiry_notices()} notices of points about to expire")


@points_cli.command("idempotency-purge")
@records_actor
def idempotency_purge_command():
    """Forget stored API responses older than IDEMPOTENCY_RETENTION_DAYS (run it from cron)."""
    from .api.idempotency import purge_idempotent_requests

    click.echo(f"forgot {purge_idempotent_requests()} stored responses to idempotency keys")


# -- rules ---------------------------------------------------------------------------


@points_cli.command("rules-import")
@records_actor
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--org", "organization", required=True, help="#id, name or path (names joined by /)")
@click.option("--name", default=None, help="name of the rule table (default: organization and version)")
@click.option("--effective-from", default=None, help="YYYY-MM-DD, local date from which it applies")
@click.option("--publish", is_flag=True, help="publish it at once (needs --effective-from)")
def rules_import_command(path, organization, name, effective_from, publish):
    """Create a draft rule table from a JSON file (validated field by field)."""
    from .organizations.service import find_organization
    from .rules import service as rules

    try:
        node = find_organization(organization)
        with open(path, encoding="utf-8") as handle:
            document = handle.read()
        rule_set = rules.create_rule_set(None, node, document, effective_from=effective_from, name=name)
        if publish:
            rule_set = rules.publish_rule_set(None, rule_set)
    except PointsError as error:
        for field, messages in error.details.get("fields", {}).items():
            click.echo(f"  {field}: {'; '.join(messages)}", err=True)
        _fail(error)
    click.echo(f"rule table {rule_set.id}: {node.name} version {rule_set.version} ({rule_set.status})")


@points_cli.command("rules-publish")
@records_actor
@click.argument("rule_set_id", type=int)
@click.option("--effective-from", default=None, help="YYYY-MM-DD (default: the draft's own date)")
def rules_publish_command(rule_set_id, effective_from):
    """Publish a draft rule table; it applies from its effective date on."""
    from .rules import service as rules

    try:
        rule_set = rules.publish_rule_set(None, rules.get_rule_set(rule_set_id), effective_from=effective_from)
    except PointsError as error:
        _fail(error)
    click.echo(f"published version {rule_set.version}, effective from {rule_set.effective_from.isoformat()}")


@points_cli.command("rules-retire")
@records_actor
@click.argument("rule_set_id", type=int)
def rules_retire_command(rule_set_id):
    """Retire a published rule table (or discard a draft)."""
    from .rules import service as rules

    try:
        rule_set = rules.retire_rule_set(None, rules.get_rule_set(rule_set_id))
    except PointsError as error:
        _fail(error)
    click.echo(f"retired version {rule_set.version}")


@points_cli.command("rules-list")
@click.option("--org", "organization", default=None, help="only this organization and the nodes above it")
def rules_list_command(organization):
    """List rule tables: id, organization, version, status, effective date, name."""
    from .organizations.service import find_organization
    from .rules import service as rules

    try:
        node = find_organization(organization) if organization else None
    except PointsError as error:
        _fail(error)
    for rule_set in rules.list_rule_sets(node):
        effective = rule_set.effective_from.isoformat() if rule_set.effective_from else "-"
        click.echo(
            f"{rule_set.id:>5}  {rule_set.organization.name}  v{rule_set.version}  {rule_set.status:<9}  "
            f"{effective}  {rule_set.name}"
        )


@points_cli.command("rules-export")
@click.argument("rule_set_id", type=int)
def rules_export_command(rule_set_id):
    """Print a rule table as JSON (edit it and load it with rules-import)."""
    import json

    from .rules import service as rules

    try:
        rule_set = rules.get_rule_set(rule_set_id)
    except PointsError as error:
        _fail(error)
    click.echo(json.dumps(rule_set.config, ensure_ascii=False, indent=2))


@points_cli.command("holiday-set")
@records_actor
@click.argument("day")
@click.argument("kind", type=click.Choice(["holiday", "workday"]))
@click.option("--note", default="")
@click.option("--org", "organization", default=None, help="only for this organization subtree (default: everywhere)")
def holiday_set_command(day, kind, note, organization):
    """Declare DAY (YYYY-MM-DD) a public holiday or a working day, over the calendar."""
    from .organizations.service import find_organization
    from .rules import service as rules

    try:
        node = find_organization(organization) if organization else None
        override = rules.set_holiday_override(None, day, kind, note, organization=node)
    except PointsError as error:
        _fail(error)
    click.echo(f"{override.day.isoformat()} is a {override.kind} ({node.name if node else 'everywhere'})")


@points_cli.command("category-add")
@records_actor
@click.argument("code")
@click.option("--en", "name_en", required=True, help="English name")
@click.option("--zh", "name_zh", required=True, help="Chinese name")
def category_add_command(code, name_en, name_zh):
    """Add a service category (CODE in lower-case snake case)."""
    from .rules import service as rules

    try:
        category = rules.create_category(None, code, name_en, name_zh)
    except PointsError as error:
        _fail(error)
    click.echo(f"category {category.code} added")


@points_cli.command("create-token")
@records_actor
@click.option("--user", "username", required=True, help="the service account's user name")
@click.option("--role", default=None, help="limit the token to this role (default: every role of the account)")
@click.option("--org", "organization", default=None, help="limit the token to this organization (#id, name or path)")
@click.option("--days", type=int, default=None, help="days until it expires (default API_TOKEN_DEFAULT_DAYS)")
@click.option("--name", default="command-line token", show_default=True, help="a label for the token")
def create_token_command(username, role, organization, days, name):
    """Issue an API token for a service account; the token is printed once, as the last line.

    A person issues their own tokens (POST /api/v1/tokens): a token never acts as a
    person who did not issue it."""
    from .accounts.service import find_user
    from .accounts.tokens import issue_api_token
    from .errors import NotFound
    from .organizations.service import find_organization

    try:
        user = find_user(username)
        if user is None:
            raise NotFound(_l("No such user."))
        node = find_organization(organization) if organization else None
        token, plaintext = issue_api_token(user, name=name, role=role, organization=node, days=days)
    except PointsError as error:
        _fail(error)
    scope = f"{role or 'every role'} in {node.name if node else 'every organization of the account'}"
    click.echo(f"token {token.prefix}... for {username}: {scope}, expires {token.expires_at:%Y-%m-%d} (UTC)")
    click.echo("Store it now; it is not shown again:")
    click.echo(plaintext)


@points_cli.command("honor-compute")
@records_actor
@click.option("--org", "organization", required=True, help="#id, name or path (its subtree is ranked)")
@click.option("--period", "period_kind", required=True, help="month, quarter or year")
@click.option("--start", "period_start", required=True, help="YYYY-MM-DD, the first local day of the period")
@click.option("--metric", required=True, help="hours or points")
@click.option("--size", type=int, default=10, show_default=True, help="how many volunteers (1 to 100)")
@click.option("--names", "name_style", default=None, help="masked or full (default: the organization's setting)")
def honor_compute_command(organization, period_kind, period_start, metric, size, name_style):
    """Compute (or recompute) a draft honor roll and print it."""
    from .honor import service as honor
    from .organizations.service import find_organization

    try:
        roll = honor.compute_honor_roll(
            None, find_organization(organization), period_kind, period_start, metric, size, name_style=name_style
        )
    except PointsError as error:
        _fail(error)
    click.echo(f"draft honor roll {roll.id}: {honor.honor_roll_title(roll)}")
    unit = "min" if roll.metric == "hours" else "points"
    for entry in roll.entries:
        click.echo(f"  {entry.rank:>3}. {entry.display_name}  {entry.home_community}  {entry.value} {unit}")
    if not roll.entries:
        click.echo("  (nobody had approved service in this period)")
    if honor.period_has_ended(roll):
        click.echo(f"ask to publish it with: flask --app wsgi points honor-publish {roll.id} --actor NAME")
    else:
        click.echo("the period has not ended: this draft is a preview; recompute it after the period to publish it")


@points_cli.command("honor-publish")
@click.argument("roll_id", type=int)
@click.option("--actor", "username", required=True, help="the administrator asking (user name or mobile)")
def honor_publish_command(roll_id, username):
    """Ask for a draft honor roll to be published (after its period has ended); another
    administrator approves it with change-approve, and it is then public and never changes."""
    from .honor import service as honor

    try:
        request = honor.request_honor_roll_publication(_acting_user(username), roll_id)
    except PointsError as error:
        _fail(error)
    click.echo(f"publication of honor roll {roll_id} requested: change request {request.id}")
    click.echo(
        f"another administrator approves it with: flask --app wsgi points change-approve {request.id} --actor NAME"
    )


@points_cli.command("honor-draft-due")
@records_actor
def honor_draft_due_command():
    """For cron: compute the draft of every active honor roll definition whose latest period
    has ended and has no roll yet. Running it again (or twice at once) makes nothing new."""
    from .honor.definitions import draft_due_rolls

    results = draft_due_rolls()
    words = {
        "computed": "draft computed",
        "exists": "already has a roll",
        "raced": "computed by another run at the same moment",
    }
    for result in results:
        roll = f" (honor roll {result.roll_id})" if result.roll_id is not None else ""
        click.echo(
            f"definition {result.definition_id}, period from {result.period_start}: {words[result.outcome]}{roll}"
        )
    computed = sum(result.outcome == "computed" for result in results)
    click.echo(f"{computed} new draft(s) for {len(results)} active definition(s)")


# -- changes that need a second person -----------------------------------------------------------


@points_cli.command("change-list")
@click.option("--actor", "username", required=True, help="whose view (user name or mobile)")
def change_list_command(username):
    """List the pending change requests that ACTOR may review (their own are marked)."""
    from .changes import service as changes

    try:
        actor = _acting_user(username)
    except PointsError as error:
        _fail(error)
    requests = changes.list_change_requests(actor)
    for request in requests:
        mine = "  (yours)" if request.author_id == actor.id else ""
        click.echo(
            f"{request.id:>5}  {changes.kind_label(request.kind)}  {request.target_type} {request.target_id}"
            f"  by {request.author.username} at {request.created_at:%Y-%m-%d %H:%M} UTC{mine}"
        )
        for line in request.diff:
            click.echo(f"         {line['field']}: {line.get('before')} -> {line.get('after')}")
    if not requests:
        click.echo("no pending change requests")


@points_cli.command("change-approve")
@click.argument("request_id", type=int)
@click.option("--actor", "username", required=True, help="the reviewer, not the author (user name or mobile)")
def change_approve_command(request_id, username):
    """Approve a pending change request: its change is applied now, exactly once."""
    from .changes import service as changes

    try:
        request = changes.approve_change(_acting_user(username), request_id)
    except PointsError as error:
        _fail(error)
    click.echo(f"approved change request {request.id}: {changes.kind_label(request.kind)}")


@points_cli.command("change-reject")
@click.argument("request_id", type=int)
@click.option("--actor", "username", required=True, help="the reviewer, not the author (user name or mobile)")
@click.option("--reason", required=True, help="why, for the author")
def change_reject_command(request_id, username, reason):
    """Reject a pending change request with a reason; nothing is changed."""
    from .changes import service as changes

    try:
        request = changes.reject_change(_acting_user(username), request_id, reason)
    except PointsError as error:
        _fail(error)
    click.echo(f"rejected change request {request.id}: {changes.kind_label(request.kind)}")


@points_cli.command("perk-add")
@records_actor
@click.argument("name")
@click.option("--kind", required=True, help="parking_discount, priority_service, goods or other")
@click.option("--org", "organization", required=True, help="the organization that offers it (#id, name or path)")
@click.option(
    "--venue",
    "venues",
    multiple=True,
    required=True,
    help="where it is honored: #id, name or path (repeatable; a subtree)",
)
@click.option("--points", "points_cost", type=int, required=True, help="points per item")
@click.option("--copay", "copay_amount", type=int, default=0, show_default=True, help="co-payment in fen")
@click.option("--stock", type=int, default=None, help="items on the shelf (default: unlimited)")
@click.option("--limit", default=None, help="per volunteer, as N/day, N/week, N/month or N/year")
@click.option("--min-stars", type=int, default=0, show_default=True)
@click.option("--valid-from", type=click.DateTime(["%Y-%m-%d"]), default=None, help="first local day")
@click.option("--valid-until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="last local day")
@click.option("--terms", default="", help="terms shown to volunteers and staff")
def perk_add_command(name, kind, organization, venues, points_cost, limit, valid_from, valid_until, **options):
    """Add a perk to the catalog (the admin pages come with the admin issue)."""
    from datetime import timedelta

    from .organizations.service import find_organization
    from .perks import service as perks
    from .timeutil import local_midnight_utc

    quantity = period = None
    if limit:
        quantity, _, period = limit.partition("/")
        quantity = int(quantity) if quantity.strip().isdigit() else quantity
    try:
        owner = find_organization(organization)
        perk = perks.create_perk(
            None,
            organization=owner,
            venues=[find_organization(venue) for venue in venues],
            name=name,
            kind=kind,
            points_cost=points_cost,
            limit_quantity=quantity,
            limit_period=period or None,
            valid_from=local_midnight_utc(valid_from.date(), owner.timezone) if valid_from else None,
            valid_until=(
                local_midnight_utc(valid_until.date() + timedelta(days=1), owner.timezone) if valid_until else None
            ),
            **options,
        )
    except PointsError as error:
        _fail(error)
    click.echo(f"added perk {perk.id}: {perk.name}, {perk.points_cost} points")


@points_cli.command("perk-list")
def perk_list_command():
    """Print the perk catalog with ids, costs, stock and venues."""
    from .perks import service as perks

    catalog = perks.list_perks()
    for perk in catalog:
        stock = "unlimited" if perk.stock is None else f"{perk.stock} left"
        venues = ", ".join(venue.organization.name for venue in perk.venues)
        state = "" if perk.active else "  (inactive)"
        click.echo(f"{perk.id:>5}  {perk.name}  {perk.points_cost} points  {stock}  at {venues}{state}")
    if not catalog:
        click.echo("no perks yet: add one with  points perk-add NAME --kind ... --org ... --venue ... --points N")


@points_cli.command("perk-stock")
@records_actor
@click.argument("perk_id", type=int)
@click.argument("stock", type=int)
def perk_stock_command(perk_id, stock):
    """Set the number of items on the shelf now (audited)."""
    from .perks import service as perks

    try:
        perk = perks.update_perk(None, perk_id, stock=stock)
    except PointsError as error:
        _fail(error)
    click.echo(f"perk {perk.id}: {perk.stock} left")


# -- holiday calendars ---------------------------------------------------------------


def _calendar_scope(organization):
    from .organizations.service import find_organization

    return find_organization(organization) if organization else None


def _local_today():
    from flask import current_app

    from .timeutil import to_local, utcnow

    return to_local(utcnow(), current_app.config["DEFAULT_TIMEZONE"]).date()


def _calendar_source_line(status):
    from importlib.metadata import version

    from .accounts.models import User
    from .extensions import db

    if status.source == "entered":
        entered = status.calendar
        user = db.session.get(User, entered.entered_by_id) if entered.entered_by_id else None
        by = user.username if user else "the command line"
        source = f"; source: {entered.source}" if entered.source else ""
        return (
            f"{status.year}: entered calendar, {len(entered.days)} days, by {by} "
            f"at {entered.entered_at:%Y-%m-%d %H:%M} UTC{source}"
        )
    if status.source == "package":
        return f"{status.year}: chinese-calendar {version('chinese-calendar')} package data"
    return f"{status.year}: MISSING - every day is rated by its weekday (Saturday and Sunday as weekend)"


@points_cli.command("calendar-status")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="YYYY-MM-DD (default: today)")
@click.option("--org", "organization", default=None, help="a top-level organization with its own calendars")
def calendar_status_command(today, organization):
    """Where the holiday data of last, this and (from 60 days before) next year comes from;
    exit 1 while a year that matters has none."""
    from .rules import calendar
    from .rules import service as rules

    today = today.date() if today else _local_today()
    try:
        node = _calendar_scope(organization)
    except PointsError as error:
        _fail(error)
    for year in calendar.years_to_watch(today):
        click.echo(_calendar_source_line(rules.calendar_status(year, node)))
    missing = rules.calendar_warnings(today, [node] if node else None)
    for year in missing:
        click.echo(
            f"warning: holiday data for {year} is missing; enter the State Council's notice with"
            f"  flask --app wsgi points calendar-import FILE --year {year}"
        )
    sys.exit(1 if missing else 0)


@points_cli.command("calendar-import")
@records_actor
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--year", type=int, required=True, help="the year of the notice")
@click.option("--org", "organization", default=None, help="only for this top-level organization (default: everywhere)")
@click.option("--source", default="", help="where the days come from, e.g. the notice's title (kept with them)")
def calendar_import_command(path, year, organization, source):
    """Enter a year's public holidays and swapped working days from a .csv, .xlsx or .json
    file (date, kind, name), all or nothing, and correct the records of that year already
    rated. Importing the same file again changes nothing."""
    from .activities import service as activities
    from .rules.calendar import CalendarRejected

    where = "entry" if path.lower().endswith(".json") else "line"
    try:
        node = _calendar_scope(organization)
        with open(path, "rb") as handle:
            rows = activities.read_calendar_file(path, handle.read())
        result = activities.import_year_calendar(None, year, rows, organization=node, source=source)
    except CalendarRejected as error:
        for problem in error.problems:
            place = f"{where} {problem.line}" if problem.line else "file"
            click.echo(f"  {place}: {problem.column}: {problem.message}", err=True)
        _fail(error)
    except PointsError as error:
        _fail(error)
    days = result.calendar.days
    holidays = sum(1 for day in days if day.kind == "holiday")
    state = "entered" if result.changed else "unchanged (the same days were already entered)"
    click.echo(f"calendar {year}: {state}; {holidays} holidays, {len(days) - holidays} swapped working days")
    _echo_calendar_rerate(year, result.rerate)


def _echo_calendar_rerate(year, rerate):
    click.echo(
        f"re-rated {rerate.records} records of {year}: {rerate.changed} corrected by adjustment entries, "
        f"+{rerate.points_added} / -{rerate.points_removed} points, shortfall {rerate.shortfall}"
    )


@points_cli.command("calendar-show")
@click.option("--year", type=int, required=True)
@click.option("--org", "organization", default=None, help="as seen by this organization's tree (default: everywhere)")
def calendar_show_command(year, organization):
    """Print a year's holiday data: its source, then each public holiday and swapped working day."""
    from .rules import service as rules

    try:
        node = _calendar_scope(organization)
    except PointsError as error:
        _fail(error)
    click.echo(_calendar_source_line(rules.calendar_status(year, node)))
    for day, kind, name in rules.year_calendar_days(year, node):
        click.echo(f"{day.isoformat()}  {day:%a}  {kind:<8} {name}")


@points_cli.command("calendar-rerate")
@records_actor
@click.option("--year", type=int, required=True)
@click.option("--org", "organization", default=None, help="only this organization's subtree (default: everywhere)")
def calendar_rerate_command(year, organization):
    """Correct the records of YEAR rated without holiday data or with another day kind (run it
    after upgrading chinese-calendar to a release that has the year); idempotent."""
    from .activities import service as activities

    try:
        rerate = activities.rerate_calendar_year(None, year, organization=_calendar_scope(organization))
    except PointsError as error:
        _fail(error)
    _echo_calendar_rerate(year, rerate)


# -- reports ---------------------------------------------------------------------------------


@points_cli.command("reports-rebuild")
@records_actor
@click.option("--org", "organization", default=None, help="only this organization's subtree (default: everywhere)")
def reports_rebuild_command(organization):
    """Recompute the reports' monthly figures and the points held per home organization
    from the records, redemptions, ledger and accounts; safe to run any time."""
    from .organizations.service import find_organization
    from .reports.aggregates import rebuild_monthly_figures
    from .reports.balances import rebuild_organization_balances

    try:
        node = find_organization(organization) if organization else None
        written = rebuild_monthly_figures(None, node)
        written["report_organization_balances"] = rebuild_organization_balances(None, node)
    except PointsError as error:
        _fail(error)
    for table, rows in written.items():
        click.echo(f"{table}: {rows} rows")


# -- operations ------------------------------------------------------------------------------


@points_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path):
    """Back up the database to PATH (a new file) while the service runs: SQLite's online
    backup on SQLite, pg_dump --format=custom on PostgreSQL (restore with pg_restore)."""
    from .backup import back_up_database

    try:
        dialect = back_up_database(path)
    except PointsError as error:
        _fail(error)
    click.echo(f"backed up the {dialect} database to {path} ({os.path.getsize(path)} bytes)")


@points_cli.command("reconcile-payments")
@click.option(
    "--since",
    "since",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="first day (YYYY-MM-DD, UTC) of the redemptions and Stripe payments to compare",
)
def reconcile_payments_command(since):
    """List every mismatch between card-paid redemptions and Stripe's payments and refunds; exit 1 on any."""
    from .perks.payments import reconcile_payments

    try:
        mismatches = reconcile_payments(since)
    except PointsError as error:
        _fail(error)
    for mismatch in mismatches:
        subject = f"redemption {mismatch.redemption_id}" if mismatch.redemption_id else "no redemption"
        click.echo(f"{subject} ({mismatch.payment_id}): {mismatch.code}: {mismatch.message}")
    click.echo(f"since {since:%Y-%m-%d}: {len(mismatches)} mismatches")
    sys.exit(1 if mismatches else 0)
