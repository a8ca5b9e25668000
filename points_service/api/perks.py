"""GET /api/v1/perks: the perk catalog (what points buy, where, for how many points)."""

from ..organizations.service import get_organization
from ..perks import service as perks
from . import error_responses
from .auth import resource_blueprint
from .schemas import PerkListSchema, PerkQuerySchema

blp = resource_blueprint("perks", __name__, "/perks", "The perk catalog.")


@blp.route("", methods=["GET"])
@blp.arguments(PerkQuerySchema, location="query")
@blp.response(200, PerkListSchema)
@error_responses(blp, 401, 404, 429)
def list_perks(query):
    """Perks, cheapest first; by default the active ones everywhere"""
    organization_id = query.get("organization_id")
    organization = get_organization(organization_id) if organization_id is not None else None
    return {"perks": perks.list_perks(organization, active=query["active"])}
