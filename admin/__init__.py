"""The admin face: the administrator's desk.

One blueprint, one guard: every page needs a signed-in user holding at least one
administrator permission somewhere; each page then asks the domain services, which
check the permission on the organization subtree concerned. The desk never writes the
database or the audit log itself: every change goes through a domain service.

The navigation is a list of sections (``SECTIONS``); a section appears once a module
registers its page and the admin holds the section's permission, so no link leads to a
page that does not exist or would be refused.
"""

from flask import Blueprint, abort, current_app, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from points_service import authz
from points_service.extensions import login_manager

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

# (endpoint, label, permission or None for any admin), in the order administrators work.
SECTIONS = (
    ("admin.overview", _l("Overview"), None),
    ("admin.records", _l("Pending records"), None),
    ("admin.approvals", _l("Approvals"), None),
    ("admin.adjustments", _l("Adjustments"), "ledger.adjust"),
    ("admin.work_list", _l("Work list"), None),
    ("admin.rules", _l("Rules"), "rules.manage"),
    ("admin.calendar", _l("Holiday calendar"), "rules.manage"),
    ("admin.categories", _l("Categories"), "rules.manage"),
    ("admin.perks", _l("Perks"), "perk.manage"),
    ("admin.people", _l("People"), "user.manage"),
    ("admin.duplicates", _l("Duplicates"), "user.manage"),
    ("admin.certificates_page", _l("Certificates"), "certificate.revoke"),
    ("admin.honor_rolls", _l("Honor rolls"), "honor.manage"),
    ("admin.reports", _l("Reports"), None),
    ("admin.audit", _l("Audit"), "audit.view"),
    ("admin.settings", _l("Settings"), "rules.manage"),
)

# The modules that attach pages to ``bp``.
PAGE_MODULES = (
    "overview",
    "records",
    "approvals",
    "rules",
    "calendar",
    "perks",
    "certificates",
    "people",
    "settings",
    "adjustments",
    "worklist",
    "audit",
    "duplicates",
    "reports",
    "honor",
)


@bp.before_request
def require_admin():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not authz.is_admin(current_user):
        abort(403)
    return None


@bp.context_processor
def admin_navigation():
    sections = [
        (endpoint, url_for(endpoint), label)
        for endpoint, label, permission in SECTIONS
        if endpoint in current_app.view_functions and (permission is None or authz.can(current_user, permission, None))
    ]
    return {"admin_sections": sections}


def register_admin(app):
    from importlib import import_module

    for name in PAGE_MODULES:
        import_module(f"{__name__}.{name}")
    app.register_blueprint(bp)
