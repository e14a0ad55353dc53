"""The schema comes from the migrations: they run up and down cleanly, match the models, and
stay tidy (one head, date-prefixed files, a message on each)."""

import re
from pathlib import Path

import flask_migrate
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from tests.conftest import test_config
from vcollege import create_app
from vcollege.extensions import db

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"


def _fresh_app(databases, tmp_path):
    return create_app(test_config(databases.new_url("migrations"), tmp_path))


def test_upgrade_check_downgrade_upgrade(databases, tmp_path):
    app = _fresh_app(databases, tmp_path)
    runner = app.test_cli_runner()
    with app.app_context():
        flask_migrate.upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"parties", "people", "audit_log", "api_tokens", "job_runs"} <= tables
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        assert {"parties", "people"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()


def test_check_detects_drift(databases, tmp_path):
    """`db check` is a real check: a model change without a migration fails it."""
    from sqlalchemy import Column, Integer, Table

    app = _fresh_app(databases, tmp_path)
    with app.app_context():
        flask_migrate.upgrade()
    extra = Table("drift_probe", db.metadata, Column("id", Integer, primary_key=True))
    try:
        result = app.test_cli_runner().invoke(args=["db", "check"])
        assert result.exit_code != 0
    finally:
        db.metadata.remove(extra)


def test_revisions_are_tidy(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
    scripts = ScriptDirectory.from_config(config)
    assert len(scripts.get_heads()) == 1, "migrations have several heads: relink them"
    for path in VERSIONS.glob("*.py"):
        assert re.match(r"^\d{4}_\d{2}_\d{2}_\d{4}-[0-9a-f]+_\w+\.py$", path.name), path.name
        text = path.read_text()
        assert "vcollege." not in text.split('"""', 2)[2], f"{path.name} imports the application"
    for revision in scripts.walk_revisions():
        assert revision.doc and len(revision.doc) > 10, f"{revision.revision} has no real message"


def test_foreign_keys_are_enforced_after_migrating(app, session):
    """SQLite migrations run with foreign keys off; the pooled connection gets them back."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from tests.conftest import NOW
    from vcollege.core.models import PersonRole, Role

    session.add(PersonRole(person_id=987654, role=Role.LEARNER, granted_at=NOW))
    with pytest.raises(IntegrityError):
        session.flush()
