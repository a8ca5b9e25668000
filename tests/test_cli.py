"""``flask --app wsgi points ...``: demo, create-user, grant and expire (verify: tests/ledger)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from points_service.accounts.models import RoleMembership, User, VolunteerProfile
from points_service.audit.models import AuditEvent
from points_service.codes import is_valid_member_number
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.models import LedgerEntry
from points_service.timeutil import utcnow


def count(model):
    db.session.rollback()
    return db.session.execute(select(func.count(model.id))).scalar_one()


def roles_of(username):
    user = db.session.execute(select(User).where(User.username == username)).scalar_one()
    return {(m.role, m.organization.kind) for m in user.memberships}


def test_demo_loads_once_prints_the_logins_and_passes_verify(runner):
    first = runner.invoke(args=["points", "demo"])
    volunteers, entries = count(VolunteerProfile), count(LedgerEntry)
    second = runner.invoke(args=["points", "demo"])

    assert first.exit_code == 0 and second.exit_code == 0
    assert first.output == second.output
    for login in ("admin", "reviewer", "organizer", "counter", "volunteer"):
        assert f"  {login} " in first.output
    member_no = first.output.strip().splitlines()[-1].removeprefix("member number of volunteer: ")
    assert is_valid_member_number(member_no)
    assert (
        db.session.execute(
            select(VolunteerProfile.member_no).join(User).where(User.username == "volunteer")
        ).scalar_one()
        == member_no
    )
    assert volunteers == 201 == count(VolunteerProfile)  # 200 and one who registered twice
    assert entries == count(LedgerEntry) > 200
    assert ("admin", "city") in roles_of("admin")
    assert ("organizer", "community") in roles_of("organizer")
    assert ("counter", "district") in roles_of("counter")
    verify = runner.invoke(args=["points", "verify"])
    assert verify.exit_code == 0, verify.output
    assert verify.output.strip().endswith(": 0 discrepancies")


def test_demo_if_empty_leaves_a_database_with_data_alone(runner, build):
    build.tree()
    result = runner.invoke(args=["points", "demo", "--if-empty"])
    assert result.exit_code == 0
    assert count(VolunteerProfile) == 0
    assert "not loaded" in result.output


def test_create_user_then_grant_a_role_by_organization_name(runner, build):
    district = build.tree()["districts"][0]

    created = runner.invoke(
        args=["points", "create-user", "--username", "wang.admin", "--name", "Wang"],
        input="long-password-9\nlong-password-9\n",
    )
    granted = runner.invoke(args=["points", "grant", "admin", "--user", "wang.admin", "--org", district.name])

    assert created.exit_code == 0, created.output
    assert "created user wang.admin" in created.output
    assert granted.exit_code == 0, granted.output
    assert granted.output.strip() == f"granted admin on {district.name} to wang.admin"
    assert roles_of("wang.admin") == {("admin", "district")}


def test_grant_accepts_an_organization_id_and_a_mobile_number(runner, build):
    user = build.volunteer()
    result = runner.invoke(args=["points", "grant", "counter", "--user", user.mobile, "--org", str(build.community.id)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert {m.role for m in db.session.get(User, user.id).memberships} == {"volunteer", "counter"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["boss", "--user", "{user}", "--org", "{org}"], "Unknown role boss"),
        (["admin", "--user", "nobody", "--org", "{org}"], "No such user."),
        (["admin", "--user", "{user}", "--org", "Atlantis"], "No organization matches Atlantis"),
        (["admin", "--user", "{user}", "--org", "987654"], "No organization matches 987654"),
        (["admin", "--user", "{user}", "--org", "#987654"], "That organization does not exist."),
    ],
    ids=["role", "user", "organization name", "organization number", "organization id"],
)
def test_grant_refuses_what_does_not_exist_with_a_clear_message(runner, build, arguments, message):
    staff = build.staff("organizer")
    arguments = [a.format(user=staff.username, org=build.community.id) for a in arguments]

    result = runner.invoke(args=["points", "grant", *arguments])

    assert result.exit_code == 2
    assert message in result.output
    assert count(RoleMembership) == 1


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("x", "long-password-9", "A user name has 3 to 64 letters"),
        ("good.name", "short1", "at least 10 characters"),
        ("good.name", "qwertyuiop123", "too common or too easy to guess"),
    ],
)
def test_create_user_refuses_bad_input_and_creates_nobody(runner, app, username, password, message):
    result = runner.invoke(
        args=["points", "create-user", "--username", username, "--name", "N", "--password", password]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert count(User) == 0


def test_create_user_refuses_a_taken_user_name(runner, build):
    build.staff("admin", username="taken")
    result = runner.invoke(
        args=["points", "create-user", "--username", "taken", "--name", "N", "--password", "long-password-9"]
    )
    assert result.exit_code == 2
    assert "The user name taken is taken." in result.output


def test_the_expire_command_expires_due_points(runner, build):
    due, kept = build.account(build.volunteer()).id, build.account(build.volunteer(points=5)).id
    past = utcnow() - timedelta(days=10)
    ledger.earn_points(due, 30, reason="old", now=past, expires_at=past + timedelta(days=1))

    result = runner.invoke(args=["points", "expire"])

    assert result.exit_code == 0, result.output
    assert "expired 30 points in 1 accounts" in result.output
    db.session.expire_all()
    assert (ledger.get_account(due).balance, ledger.get_account(kept).balance) == (0, 5)


def test_org_add_builds_a_tree_that_org_list_prints_and_grant_can_use(runner, app):
    for arguments in (
        ["Port City", "--kind", "city", "--timezone", "Asia/Shanghai"],
        ["Harbour", "--kind", "district", "--parent", "Port City"],
        ["Dock Street", "--kind", "street", "--parent", "Harbour"],
        ["Pier 1", "--kind", "community", "--parent", "Dock Street"],
    ):
        result = runner.invoke(args=["points", "org-add", *arguments])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("added ")

    listing = runner.invoke(args=["points", "org-list"]).output.splitlines()
    assert [line.split()[1:3] for line in listing] == [
        ["city", "Port"],
        ["district", "Harbour"],
        ["street", "Dock"],
        ["community", "Pier"],
    ]
    assert [len(line) - len(line.lstrip()) for line in listing] == sorted(
        len(line) - len(line.lstrip()) for line in listing
    )

    created = runner.invoke(
        args=["points", "create-user", "--username", "harbourmaster", "--name", "H M"],
        input="a-long-password-1\na-long-password-1\n",
    )
    assert created.exit_code == 0, created.output
    granted = runner.invoke(args=["points", "grant", "admin", "--user", "harbourmaster", "--org", "Port City"])
    assert granted.exit_code == 0, granted.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["Lonely", "--kind", "district"], "Only a city can be at the top"),
        (["Nowhere", "--kind", "street", "--parent", "No such place"], "No organization matches No such place"),
        (["Odd", "--kind", "village"], "Unknown kind of organization"),
        (["Far", "--kind", "city", "--timezone", "Moon/Base"], "Unknown time zone"),
    ],
)
def test_org_add_refuses_bad_input_with_a_message_and_adds_nothing(runner, app, arguments, message):
    from points_service.organizations.models import Organization

    result = runner.invoke(args=["points", "org-add", *arguments])

    assert result.exit_code == 2
    assert message in result.output
    assert Organization.query.count() == 0


# -- who ran it: every writing command names its operator in the audit log ---------------------

READ_ONLY_COMMANDS = {
    "verify",
    "backup",
    "org-list",
    "rules-list",
    "rules-export",
    "perk-list",
    "change-list",
    "calendar-show",
    "calendar-status",
    "reconcile-payments",
}


def test_every_writing_command_takes_an_actor():
    from points_service.cli import points_cli

    without = [
        name
        for name, command in points_cli.commands.items()
        if name not in READ_ONLY_COMMANDS
        and "--actor" not in {option for parameter in command.params for option in parameter.opts}
    ]
    assert without == []


def test_a_command_line_write_is_audited_as_the_os_user_by_default(runner, app):
    import getpass

    from points_service.audit.models import AuditEvent

    result = runner.invoke(args=["points", "org-add", "Port City", "--kind", "city"])

    assert result.exit_code == 0, result.output
    event = db.session.execute(select(AuditEvent)).scalar_one()
    assert (event.actor_id, event.actor_label) == (None, f"cli:{getpass.getuser()}")


def test_actor_names_who_ran_the_command_in_the_audit_log(runner, build):
    from points_service.audit.models import AuditEvent

    staff = build.staff("organizer")
    result = runner.invoke(
        args=[
            "points",
            "grant",
            "counter",
            "--user",
            staff.username,
            "--org",
            build.community.name,
            "--actor",
            "li.wei",
        ]
    )

    assert result.exit_code == 0, result.output
    event = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert (event.action, event.actor_label) == ("role.grant", "cli:li.wei")


def test_an_unprintable_actor_is_refused_and_nothing_is_written(runner, app):
    from points_service.organizations.models import Organization

    result = runner.invoke(args=["points", "org-add", "Port City", "--kind", "city", "--actor", "evil\nname"])

    assert result.exit_code == 2
    assert "Name who runs the command" in result.output
    assert Organization.query.count() == 0


def test_create_service_account_answers_to_a_named_administrator(runner, build):
    from points_service.audit.models import AuditEvent

    build.staff("admin", build.tree()["city"], username="city-admin")
    created = runner.invoke(
        args=[
            "points",
            "create-service-account",
            "--username",
            "desk-3",
            "--name",
            "Counter desk 3",
            "--created-by",
            "city-admin",
            "--actor",
            "ops",
        ]
    )
    assert created.exit_code == 0, created.output
    account = db.session.execute(select(User).where(User.username == "desk-3")).scalar_one()
    assert account.is_service_account and account.created_by.username == "city-admin"
    event = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert event.action == "user.create" and event.actor_label == "cli:ops"


def test_create_service_account_refuses_a_creator_who_is_not_an_administrator(runner, build):
    clerk = build.staff("counter")
    result = runner.invoke(
        args=["points", "create-service-account", "--username", "desk-4", "--name", "D", "--created-by", clerk.username]
    )
    assert result.exit_code == 2
    assert "created by an administrator" in result.output
    assert db.session.execute(select(User).where(User.username == "desk-4")).first() is None


@pytest.fixture
def twin_communities(build):
    """Two communities named 光明社区, one under each street of the test city."""
    from points_service.organizations.service import create_organization

    return [create_organization("光明社区", "community", street) for street in build.tree()["streets"]]


@pytest.mark.parametrize(
    "arguments",
    [
        ["grant", "admin", "--user", "someone", "--org", "光明社区"],
        ["org-add", "Block 9", "--kind", "community", "--parent", "光明社区"],
        ["rules-list", "--org", "光明社区"],
        ["holiday-set", "2027-02-10", "holiday", "--org", "光明社区"],
        ["create-token", "--user", "someone", "--org", "光明社区"],
        ["honor-compute", "--org", "光明社区", "--period", "month", "--start", "2026-03-01", "--metric", "hours"],
        ["perk-add", "Tea", "--kind", "goods", "--org", "光明社区", "--venue", "District 1", "--points", "5"],
        ["perk-add", "Tea", "--kind", "goods", "--org", "District 1", "--venue", "光明社区", "--points", "5"],
    ],
    ids=lambda arguments: arguments[0] + (" --venue" if "--venue" in arguments[-3:] else ""),
)
def test_every_command_refuses_an_organization_name_that_two_nodes_share(runner, build, twin_communities, arguments):
    build.staff("organizer", username="someone")
    first, second = twin_communities
    audited = count(AuditEvent)

    result = runner.invoke(args=["points", *arguments])

    assert result.exit_code == 2, result.output
    assert "fits 2 organizations" in result.output
    assert f"#{first.id} Test City/District 1/Street 1/光明社区" in result.output
    assert f"#{second.id} Test City/District 2/Street 2/光明社区" in result.output
    assert count(AuditEvent) == audited


def test_a_path_or_an_id_names_one_of_two_communities_with_the_same_name(runner, build, twin_communities):
    first, second = twin_communities
    build.staff("organizer", username="someone")

    by_path = runner.invoke(args=["points", "grant", "admin", "--user", "someone", "--org", "Street 2/光明社区"])
    by_id = runner.invoke(args=["points", "grant", "counter", "--user", "someone", "--org", f"#{first.id}"])

    assert by_path.exit_code == 0 and by_id.exit_code == 0, by_path.output + by_id.output
    memberships = db.session.execute(select(User).where(User.username == "someone")).scalar_one().memberships
    assert {(m.role, m.organization_id) for m in memberships} >= {("admin", second.id), ("counter", first.id)}
