"""The service counter page: scan, choose, confirm."""

from flask import Blueprint

bp = Blueprint("counter", __name__, url_prefix="/counter")
