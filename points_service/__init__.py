"""Volunteer Points: verified volunteer hours become points; points buy perks.

``create_app(config)`` builds the application: extensions, blueprints, CLI commands,
error handlers. Nothing is bound at import time.
"""

import logging
import os

from flask import Flask, g, has_request_context, request, session
from flask_babel import get_locale

from .config import load_config
from .extensions import babel, csrf, db, limiter, login_manager, migrate

__all__ = ["create_app"]


def create_app(config=None):
    package_root = os.path.dirname(os.path.abspath(__file__))
    project_root = os.path.dirname(package_root)
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH") or os.path.join(project_root, "instance"),
        instance_relative_config=True,
        static_folder=os.path.join(project_root, "static"),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_config(app.instance_path, config))
    if app.config["TRUSTED_PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        proxies = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    register_logging(app)
    register_extensions(app)
    register_input_checks(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_request_hooks(app)
    register_operations(app)
    return app


def register_logging(app):
    root = logging.getLogger()
    if not app.debug and not app.testing and not root.handlers:
        from .logs import log_handler

        root.addHandler(log_handler(app.config["LOG_FORMAT"]))
        root.setLevel(logging.INFO)
    # werkzeug's access log would print query strings; ours carry no personal data, but be sure.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def select_locale():
    if not has_request_context():
        return None  # CLI and background work: the default locale
    chosen = request.args.get("lang")
    if chosen in ("zh_CN", "en"):
        return chosen
    if session.get("locale") in ("zh_CN", "en"):
        return session["locale"]
    from flask_login import current_user

    if getattr(current_user, "is_authenticated", False) and current_user.locale:
        return current_user.locale
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    if best in ("zh_CN", "zh"):
        return "zh_CN"
    return best or None


def register_extensions(app):
    from .database import configure_sqlite, end_read_transaction
    from .replicas import init_replica

    configure_sqlite(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    db.init_app(app)
    app.teardown_appcontext(end_read_transaction)  # runs before the session is closed
    init_replica(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"

    from .accounts.service import configure_password_hashing, load_session_user

    configure_password_hashing(app.config.get("ARGON2_TIME_COST"), app.config.get("ARGON2_MEMORY_COST"))
    login_manager.user_loader(load_session_user)
    _import_models()


def _import_models():
    """Import every domain's models so the metadata (and Alembic) sees all tables."""
    from importlib import import_module

    for module in MODEL_MODULES:
        import_module(module)


MODEL_MODULES = [
    "points_service.organizations.models",
    "points_service.accounts.models",
    "points_service.ledger.models",
    "points_service.audit.models",
    "points_service.rules.models",
    "points_service.activities.models",
    "points_service.perks.models",
    "points_service.payments.models",
    "points_service.api.models",
    "points_service.honor.models",
    "points_service.changes.models",
    "points_service.certificates.models",
    "points_service.notices.models",
    "points_service.myaccount.models",
    "points_service.reports.models",
]


def register_input_checks(app):
    """Strict JSON, the ``<id:...>`` URL converter and the control-character check (see ``inputs``)."""
    from .inputs import CheckedRequest, IdConverter, StrictJSONProvider, check_request_input

    app.json = StrictJSONProvider(app)
    app.request_class = CheckedRequest
    app.url_map.converters["id"] = IdConverter
    app.before_request(check_request_input)


def register_blueprints(app):
    from .api import register_api
    from .web import register_web

    register_web(app)
    register_api(app)
    import admin

    admin.register_admin(app)


def register_errorhandlers(app):
    from .errors import register_errorhandlers as register

    register(app)


def register_commands(app):
    from .cli import points_cli

    app.cli.add_command(points_cli)


def register_operations(app):
    """``/metrics`` and the request log line, for operators (``/healthz`` and ``/readyz`` are public pages)."""
    from .metrics import register_metrics

    register_metrics(app)


def register_request_hooks(app):
    from .audit import service as audit
    from .security import apply_security_headers

    @app.before_request
    def remember_locale():
        g.locale = str(get_locale())

    @app.before_request
    def remember_request_origin():
        # The audit log names the request and the face of every write made while it runs.
        source = "api" if request.path == "/api" or request.path.startswith("/api/") else "web"
        audit.begin_request_origin(request.headers.get("X-Request-Id"), source)

    @app.after_request
    def send_request_id(response):
        request_id = audit.current_request_id()
        if request_id:
            response.headers["X-Request-Id"] = request_id
        return response

    @app.teardown_request
    def forget_request_origin(error=None):
        audit.end_request_origin()

    app.after_request(apply_security_headers)

    @app.context_processor
    def inject_globals():
        locale = get_locale()
        return {
            "current_locale": str(locale),
            "current_language": locale.language if locale is not None else "en",
            "languages": [("zh_CN", "中文"), ("en", "English")],
        }
