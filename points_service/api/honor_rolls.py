"""GET /api/v1/honor-rolls and /api/v1/honor-rolls/{id}: published honor rolls, for anyone.

No token is needed: a published roll is public by design (names masked as the roll
says, no volunteer ids). Drafts are not found. The honor service decides all of it.
Both may read from the read replica (``replicas.py``).
"""

from ..honor import service as honor
from ..organizations.service import get_organization
from ..replicas import replica_reads
from . import error_responses
from .auth import resource_blueprint
from .schemas import HonorRollPageSchema, HonorRollQuerySchema, HonorRollSchema

blp = resource_blueprint(
    "honor_rolls", __name__, "/honor-rolls", "Published honor rolls (public, no token needed).", public=True
)

PUBLIC = {"security": []}


@blp.route("", methods=["GET"])
@replica_reads
@blp.doc(**PUBLIC)
@blp.arguments(HonorRollQuerySchema, location="query")
@blp.response(200, HonorRollPageSchema)
@error_responses(blp, 404, 429)
def list_honor_rolls(query):
    """Published honor rolls, newest first"""
    organization_id = query.get("organization_id")
    organization = get_organization(organization_id) if organization_id is not None else None
    limit = query["limit"]
    cursor = query.get("cursor")
    rows = honor.list_published_honor_rolls(organization, before_id=int(cursor) if cursor else None, limit=limit + 1)
    rolls = rows[:limit]
    more = len(rows) > limit
    return {"honor_rolls": rolls, "next_cursor": str(rolls[-1].id) if more else None}


@blp.route("/<id:roll_id>", methods=["GET"])
@replica_reads
@blp.doc(**PUBLIC)
@blp.response(200, HonorRollSchema)
@error_responses(blp, 404, 429)
def get_honor_roll(roll_id):
    """A published honor roll: rank, masked name, value and home community of each entry"""
    return honor.get_published_honor_roll(roll_id)
