"""Volunteer perk pages: browse perks, reserve one, show the voucher."""

from flask import Blueprint

bp = Blueprint("rewards", __name__, url_prefix="/perks")
