"""vcollege: the capacity-building backend of the CITES Virtual College."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application; `config` overrides what the environment says."""
    app = Flask(__name__, instance_path=_instance_path(config), instance_relative_config=True)
    register_config(app, config)
    register_proxy(app)
    register_logging(app)
    register_extensions(app)
    register_i18n(app)
    register_security(app)
    register_errors(app)
    register_blueprints(app)
    register_api_blueprints(app)
    register_cli(app)
    return app


def _instance_path(config: Mapping[str, Any] | None) -> str | None:
    """`INSTANCE_PATH` in `config`, else VCOLLEGE_INSTANCE_PATH, else Flask's `instance/`."""
    import os

    chosen = (config or {}).get("INSTANCE_PATH") or os.environ.get("VCOLLEGE_INSTANCE_PATH")
    return os.path.abspath(chosen) if chosen else None


def register_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    from vcollege.config import derived_flask_settings, instance_secret_key, load_settings

    values = load_settings(app.instance_path, overrides=overrides)
    app.config.update(derived_flask_settings(values))
    app.config.update(values)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if app.config["ENV"] == "production" and not app.config["COOKIE_SECURE"]:
        raise ValueError("VCOLLEGE_ENV=production needs HTTPS: set VCOLLEGE_BASE_URL to an https URL")


def register_proxy(app: Flask) -> None:
    """Trust X-Forwarded-* from the configured number of reverse proxies, and no more."""
    proxies = app.config.get("PROXIES", 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def register_logging(app: Flask) -> None:
    level = app.config.get("LOG_LEVEL", "INFO")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.logger.setLevel(level)


def register_extensions(app: Flask) -> None:
    from vcollege.auth import register_login
    from vcollege.extensions import csrf, db, limiter, migrate

    db.init_app(app)
    _tune_engine(app)
    migrate.init_app(app, db, directory=app.config["MIGRATIONS_DIR"], render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    register_login(app)


def _tune_engine(app: Flask) -> None:
    """SQLite: foreign keys on, WAL, a busy timeout, and serialised transactions.

    Every SQLite transaction begins IMMEDIATE, taking the database's write lock at once: a
    transaction that reads then writes can never find its snapshot stale (SQLite would refuse
    that write outright), and what is counted is counted alone. The price is that requests
    take turns, which suits the embedded, one-machine default; PostgreSQL is the engine for
    more (row locks through `extensions.lock_for_update`). Nothing holds a transaction across
    a network call (the AGS drain commits around each one)."""
    from sqlalchemy import event

    from vcollege.extensions import db

    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "sqlite":
            return

        @event.listens_for(engine, "connect")
        def on_connect(dbapi_connection, record):
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def on_begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def register_i18n(app: Flask) -> None:
    from vcollege.web.i18n import init_i18n

    init_i18n(app)


def register_security(app: Flask) -> None:
    from vcollege.web.security import init_security_headers

    init_security_headers(app)


def register_errors(app: Flask) -> None:
    from vcollege.errors import register_error_handlers

    register_error_handlers(app)


def register_blueprints(app: Flask) -> None:
    from vcollege.catalogue.views import bp as catalogue_pages
    from vcollege.core.views import bp as core_pages
    from vcollege.learning.views import bp as learning_pages
    from vcollege.lti.views import bp as lti_pages
    from vcollege.web.views import bp as web_pages

    app.register_blueprint(web_pages)
    app.register_blueprint(core_pages)
    app.register_blueprint(catalogue_pages)
    app.register_blueprint(learning_pages)
    app.register_blueprint(lti_pages)
    if app.config["ENV"] in ("development", "demo"):
        from vcollege.lti.devlms import bp as dev_lms  # never in production

        app.register_blueprint(dev_lms)


def register_api_blueprints(app: Flask) -> None:
    from vcollege.api import register_api
    from vcollege.catalogue.api import blp as courses_api
    from vcollege.core.api import blp as parties_api
    from vcollege.learning.api import blp as learning_api
    from vcollege.learning.api import me as learning_me_api

    register_api(app, [parties_api, courses_api, learning_me_api, learning_api])


def register_cli(app: Flask) -> None:
    from vcollege.cli import register_commands

    register_commands(app)
