"""The interactive API documentation at /api/v1/docs.

Swagger UI comes from the installed ``swagger-ui-bundle`` package and is served by this
application (no CDN); the page itself has no inline script (``static/api-docs/docs.js``
starts it), so it runs under the site's Content Security Policy.
"""

from flask import Blueprint, abort, render_template, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("api_docs_page", __name__, url_prefix="/api/v1/docs", template_folder="templates")

# Only the files the page loads; nothing else of the package is reachable.
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})


@bp.route("")
def page():
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))


@bp.route("/assets/<path:filename>")
def asset(filename):
    if filename not in ASSETS:
        abort(404)
    response = send_from_directory(str(swagger_ui_path), filename, max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
