"""Public pages: the start page."""

from flask import Blueprint, render_template

bp = Blueprint("public", __name__)


@bp.route("/")
def index():
    return render_template("public/index.html")


@bp.route("/healthz")
def health():
    from sqlalchemy import text

    from ..extensions import db

    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
