"""GET /api/v1/members/{member_no}/entries: a member's points history, newest first.

Each entry has its signed points, the balance after it and its reason (translated).
Paged with an opaque ``cursor`` (the ``next_cursor`` of the previous page) and ``limit``.
Staff with ``ledger.view`` over the member's home organization may read it, and so may
the volunteer themself. It may read from the read replica (``replicas.py``), so an entry
written a moment ago may appear a moment later.
"""

from flask_login import current_user

from .. import authz
from ..accounts.service import volunteer_by_member_number
from ..ledger import service as ledger
from ..replicas import replica_reads
from . import error_responses
from .auth import acts_as_volunteer, limit_code_lookups, resource_blueprint
from .schemas import MEMBER_NO_PARAMETER, LedgerPageSchema, PageQuerySchema

blp = resource_blueprint("entries", __name__, "/members", "A member's points history (the ledger).")


@blp.route("/<string:member_no>/entries", parameters=[MEMBER_NO_PARAMETER])
@limit_code_lookups
@replica_reads
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, LedgerPageSchema)
@error_responses(blp, 401, 403, 404, 429)
def list_member_entries(query, member_no):
    """A member's ledger entries with their reasons, newest first"""
    profile = volunteer_by_member_number(member_no)
    if not acts_as_volunteer(profile):
        authz.require(current_user, "ledger.view", profile.home_organization)
    account = ledger.account_of_volunteer(profile.id)
    limit = query["limit"]
    cursor = query.get("cursor")
    rows = ledger.list_entries(account.id, before_id=int(cursor) if cursor else None, limit=limit + 1)
    entries = rows[:limit]
    more = len(rows) > limit
    return {"entries": entries, "next_cursor": str(entries[-1].id) if more else None}
