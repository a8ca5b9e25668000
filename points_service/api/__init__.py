"""The JSON API under /api/v1 (flask-smorest): one module per resource."""


def register_api(app):
    """Register the API blueprints (filled in by the API issue)."""
