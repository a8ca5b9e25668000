"""The member lookup writes its JSON itself (a counter asks it on every scan): the answer
must still be exactly what the OpenAPI document describes, field for field what the
documented schemas dump."""

from datetime import timedelta

import jsonschema_rs
import pytest

from points_service.activities.service import volunteer_level
from points_service.api.schemas import PerkSchema, StarLevelSchema
from points_service.extensions import db
from points_service.perks import service as perks
from points_service.perks.models import Perk
from points_service.timeutil import utcnow


def _json_schema(node):
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable`` becomes a type that admits null."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") and "type" in node:
        converted["type"] = [node["type"], "null"]
    return converted


@pytest.fixture
def documented_member(client):
    """A validator of the documented 200 answer of GET /api/v1/members/{member_no}."""
    spec = client.get("/api/v1/openapi.json").json
    answer = spec["paths"]["/api/v1/members/{member_no}"]["get"]["responses"]["200"]
    schema = {**answer["content"]["application/json"]["schema"], "components": _json_schema(spec["components"])}
    return jsonschema_rs.validator_for(schema, validate_formats=True)


@pytest.fixture
def member(build, district):
    tree = build.tree()
    now = utcnow()
    volunteer = build.volunteer(points=40)
    build.perk(name="Plain", points_cost=10)
    everything = build.perk(
        name="Everything set",
        kind="goods",
        points_cost=15,
        terms="One per visit.",
        copay_amount=250,
        stock=3,
        limit_quantity=2,
        limit_period="week",
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=30),
        venues=[district, tree["districts"][1]],
    )
    perks.update_perk(None, everything.id, picture="ab" * 32 + ".png")
    build.perk(name="Too dear", points_cost=41, min_stars=2)
    build.perk(name="Withdrawn", points_cost=5, active=False)
    return volunteer.volunteer


def test_the_lookup_answers_in_the_documented_shape(client, headers, member, documented_member):
    response = client.get(f"/api/v1/members/{member.member_no}", headers=headers)

    assert response.status_code == 200 and response.mimetype == "application/json"
    documented_member.validate(response.json)
    assert len(response.json["eligible_perks"]) == 2 and len(response.json["other_perks"]) == 1


def test_each_perk_and_the_level_are_what_the_documented_schemas_dump(client, headers, member):
    response = client.get(f"/api/v1/members/{member.member_no}", headers=headers)

    answer = response.json
    assert answer["member_no"] == member.member_no and answer["balance"] == 40
    assert answer["level"] == StarLevelSchema().dump(volunteer_level(member))
    options = answer["eligible_perks"] + answer["other_perks"]
    for option in options:
        assert option["perk"] == PerkSchema().dump(db.session.get(Perk, option["perk"]["id"]))
        assert set(option) == {"perk", "eligible", "reasons"}
    [dear] = answer["other_perks"]
    assert dear["eligible"] is False
    assert dear["reasons"] == [
        {"code": "level_too_low", "message": "Level too low: needs 2 stars, has 0."},
        {"code": "not_enough_points", "message": "Not enough points: 41 needed, 40 available."},
    ]
    everything = next(option["perk"] for option in options if option["perk"]["name"] == "Everything set")
    assert everything["valid_from"].endswith("+00:00") and everything["picture"].endswith(".png")
    assert everything["venue_ids"] == sorted(everything["venue_ids"]) and len(everything["venue_ids"]) == 2
