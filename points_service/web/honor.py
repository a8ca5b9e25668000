"""Public honor roll pages: the list of published rolls, one roll and its A4 poster. No login needed.

Thin: the honor service reads the published snapshot; drafts are simply not found. The
poster shows exactly what the roll's page shows; drawing it costs more, so it is
rate-limited per client. They may read from the read replica (``replicas.py``).
"""

from flask import Blueprint, Response, render_template, request

from ..extensions import limiter
from ..honor import service as honor
from ..honor.poster import render_honor_poster
from ..replicas import replica_reads
from .forms import whole_number

bp = Blueprint("honor", __name__, url_prefix="/honor")

PAGE_SIZE = 50


@bp.route("/")
@replica_reads
def index():
    before = whole_number(request.args, "before", "before", required=False)
    rows = honor.list_published_honor_rolls(before_id=before, limit=PAGE_SIZE + 1)
    rolls = rows[:PAGE_SIZE]
    older = rolls[-1].id if len(rows) > PAGE_SIZE else None
    return render_template("honor/index.html", rolls=rolls, older=older, title_of=honor.honor_roll_title)


@bp.route("/<id:roll_id>")
@replica_reads
def roll(roll_id):
    honor_roll = honor.get_published_honor_roll(roll_id)
    return render_template(
        "honor/roll.html",
        roll=honor_roll,
        entries=honor.public_entries(honor_roll),
        title=honor.honor_roll_title(honor_roll),
    )


@bp.get("/<id:roll_id>/poster.pdf")
@limiter.limit("20 per minute")
@replica_reads
def poster(roll_id):
    honor_roll = honor.get_published_honor_roll(roll_id)
    return Response(
        render_honor_poster(honor_roll),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="honor-roll-{honor_roll.id}.pdf"'},
    )
