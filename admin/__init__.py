"""The admin face: its own blueprint and templates, calling the domain services."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


def register_admin(app):
    from . import views  # noqa: F401  (routes attach to bp)

    app.register_blueprint(bp)
