"""The web face: login and registration, volunteer pages, counter page, public pages."""

from flask import current_app
from flask_babel import format_date, format_datetime, get_locale

from ..i18n import list_text, stored_text
from ..timeutil import to_local


def _timezone():
    return current_app.config["DEFAULT_TIMEZONE"]


def localdatetime(moment, timezone=None):
    if moment is None:
        return ""
    local = to_local(moment, timezone or _timezone())
    return format_datetime(local.replace(tzinfo=None), "yyyy-MM-dd HH:mm")


def localdate(moment, timezone=None):
    if moment is None:
        return ""
    local = to_local(moment, timezone or _timezone())
    return format_date(local.date(), "yyyy-MM-dd")


def colon():
    """The colon after a label in the page's language: full width in Chinese (``会员号：``)."""
    locale = get_locale()
    return "：" if locale is not None and locale.language == "zh" else ": "


# One module per audience; each defines a blueprint ``bp``.
WEB_MODULES = [
    "public",
    "auth",
    "account",
    "volunteer",
    "organizer",
    "counter",
    "rewards",
    "honor",
    "certificates",
    "payments",
]


def staff_navigation():
    """Which staff areas the navigation links to, asked of the one authorization helper."""
    from flask_login import current_user

    from .. import authz

    return {
        "nav_counter": authz.can(current_user, "counter.redeem", None),
        "nav_organizer": authz.can(current_user, "activity.manage", None),
        "nav_admin": authz.is_admin(current_user),
    }


def register_web(app):
    from importlib import import_module

    app.context_processor(staff_navigation)
    app.add_template_filter(localdatetime)
    app.add_template_filter(localdate)
    app.add_template_filter(stored_text)
    app.add_template_global(colon)
    app.add_template_filter(list_text)
    for name in WEB_MODULES:
        app.register_blueprint(import_module(f"{__name__}.{name}").bp)
