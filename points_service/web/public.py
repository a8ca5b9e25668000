"""Public pages: the start page, and the icons and manifest browsers and phones ask for."""

from flask import Blueprint, current_app, render_template, send_from_directory, url_for
from flask_babel import gettext as _

bp = Blueprint("public", __name__)

ICON_MAX_AGE = 7 * 24 * 3600


@bp.route("/")
def index():
    return render_template("public/index.html")


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for this address whatever the page says."""
    response = send_from_directory(current_app.static_folder, "icons/favicon.ico", max_age=ICON_MAX_AGE)
    response.headers["Cache-Control"] = f"public, max-age={ICON_MAX_AGE}"
    return response


@bp.route("/manifest.webmanifest")
def manifest():
    """What a phone needs to put the service on its home screen, named in the visitor's language."""
    icon = "icons/{}".format
    response = current_app.response_class(
        current_app.json.dumps(
            {
                "name": _("Volunteer Points"),
                "short_name": _("Volunteer Points"),
                "start_url": url_for("public.index"),
                "display": "standalone",
                "background_color": "#f4f5f7",
                "theme_color": "#c8102e",
                "icons": [
                    {"src": url_for("static", filename=icon("icon-192.png")), "sizes": "192x192", "type": "image/png"},
                    {"src": url_for("static", filename=icon("icon-512.png")), "sizes": "512x512", "type": "image/png"},
                    {
                        "src": url_for("static", filename=icon("icon-maskable-512.png")),
                        "sizes": "512x512",
                        "type": "image/png",
                        "purpose": "maskable",
                    },
                    {"src": url_for("static", filename=icon("icon.svg")), "sizes": "any", "type": "image/svg+xml"},
                ],
            }
        ),
        mimetype="application/manifest+json",
    )
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


@bp.route("/healthz")
def health():
    """The process answers; nothing else is touched (see ``points_service.health``)."""
    return {"status": "ok"}


@bp.route("/readyz")
def ready():
    """The database answers and its schema is at the migrations' head, or 503 with the reason."""
    from ..health import readiness

    is_ready, reason = readiness()
    if is_ready:
        return {"status": "ready"}
    return {"status": "unavailable", "reason": reason}, 503
