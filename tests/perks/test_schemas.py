"""The perks domain's dump schemas: what the JSON API shows of perks and redemptions."""

from points_service.perks import service as perks
from points_service.perks.schemas import PerkOptionSchema, PerkSchema, RedemptionSchema
from tests.builders.perks import request_key, stars


def test_a_perk_and_a_redemption_dump_as_integers_with_their_reasons(build):
    volunteer = build.volunteer(points=30)
    perk = build.perk(points_cost=20, copay_amount=0, stock=4)
    dear = build.perk(name="Dear", points_cost=500)
    redemption = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0))

    dumped = PerkSchema().dump(perk)
    assert (dumped["points_cost"], dumped["stock"], dumped["venue_ids"]) == (20, 3, [build.tree()["districts"][0].id])
    option = perks.volunteer_catalog(volunteer, level_of=stars(0), perk_id=dear.id).option
    assert PerkOptionSchema().dump(option)["reasons"] == [
        {"code": "not_enough_points", "message": "Not enough points: 500 needed, 10 available."}
    ]
    shown = RedemptionSchema().dump(redemption)
    assert (shown["status"], shown["points"], shown["receipt_number"]) == ("reserved", 20, redemption.receipt_number)
