"""Organizer pages: activities, check-in QR, roster, approval, imports."""

from flask import Blueprint

bp = Blueprint("organizer", __name__, url_prefix="/organizer")
