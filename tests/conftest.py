"""Fixtures: one app per session on a migrated database, each test in a rolled-back
outer transaction, and small factories for the records most tests need.

What a test sets up before making requests is committed (a savepoint release inside the
outer transaction): requests end like production ones, rolling back what they left
uncommitted. The factories commit for you.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import scoped_session, sessionmaker

from tests.databases import Databases

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"


def test_config(database_url: str, instance: Path, **extra) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),  # never the checkout's instance/ (demo sign-ins live there)
        "ENV": "development",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key",
        "BASE_URL": "http://localhost",
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "5 per minute",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


test_config.__test__ = False  # a helper, not a test, wherever it is imported


def migrate_and_seed(app) -> None:
    from vcollege.core.parties import load_parties_file
    from vcollege.core.permissions import Actor
    from vcollege.extensions import db

    with app.app_context():
        flask_migrate.upgrade()
        load_parties_file(db.session, None, actor=Actor.operator("tests"), now=NOW)
        db.session.commit()
        db.session.remove()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    registry = Databases(tmp_path_factory.mktemp("databases"))
    yield registry
    registry.drop_all()


@pytest.fixture(scope="session")
def app(databases, tmp_path_factory):
    from vcollege import create_app

    instance = tmp_path_factory.mktemp("instance")
    application = create_app(test_config(databases.new_url("suite"), instance))
    migrate_and_seed(application)
    return application


def _bound_session_class():
    from flask_sqlalchemy.session import Session

    class ConnectionBoundSession(Session):
        """Flask-SQLAlchemy picks the engine per table; tests need their one connection."""

        def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
            return bind if bind is not None else self.bind

    return ConnectionBoundSession


class TestScopedSession(scoped_session):
    """One session for the test and every request it makes.

    Flask-SQLAlchemy removes the session when a request's app context ends; here that only
    rolls back what the request left uncommitted (as production does), and the test's
    committed set-up survives. `commit()` releases a savepoint of the outer transaction, which
    is rolled back when the test ends.
    """

    def remove(self):
        self.registry().rollback()

    def really_remove(self):
        super().remove()


@pytest.fixture
def db(app):
    """The database, with everything the test writes rolled back afterwards."""
    from vcollege.extensions import db as _db

    with app.app_context():
        connection = _db.engine.connect()
    transaction = connection.begin()
    factory = sessionmaker(
        db=_db, bind=connection, join_transaction_mode="create_savepoint",
        class_=_bound_session_class(),
    )
    original = _db.session
    _db.session = TestScopedSession(factory, scopefunc=lambda: "test")
    try:
        yield _db
    finally:
        _db.session.really_remove()
        _db.session = original
        transaction.rollback()
        connection.close()


@pytest.fixture
def session(db):
    return db.session


@pytest.fixture
def client(app, db):
    from vcollege.extensions import limiter

    limiter.reset()
    return app.test_client()


@pytest.fixture
def runner(app, db):
    """Invokes the `vcollege` command itself (its error reporting included) on the test app."""
    from flask.testing import FlaskCliRunner

    from vcollege.cli import main

    class VCollegeRunner(FlaskCliRunner):
        def invoke(self, cli=None, args=None, **kwargs):
            return super().invoke(cli or main, args, **kwargs)

    return VCollegeRunner(app)


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def operator():
    from vcollege.core.permissions import Actor

    return Actor.operator("tests")


@pytest.fixture
def make_person(session, operator):
    from vcollege.core.models import Role
    from vcollege.core.people import create_person

    counter = iter(range(1, 10_000))

    def make(name: str | None = None, *, roles=(Role.LEARNER,), party: str | None = "KE", **fields):
        n = next(counter)
        person = create_person(
            session, name=name or f"Person {n}", email=fields.pop("email", f"person{n}@example.org"),
            party=party, roles=tuple(roles), actor=operator, now=NOW, **fields,
        )
        session.commit()
        return person

    return make


@pytest.fixture
def make_staff(session, operator):
    from vcollege.core.accounts import create_staff_account
    from vcollege.core.models import Role

    counter = iter(range(1, 10_000))

    def make(role: Role = Role.SECRETARIAT, *, name: str | None = None, email: str | None = None, **fields):
        n = next(counter)
        account = create_staff_account(
            session, email=email or f"staff{n}@example.org", password=PASSWORD,
            name=name or f"Staff {n}", roles=[role], actor=operator, now=NOW, **fields,
        )
        session.commit()
        return account.person

    return make


@pytest.fixture
def make_token(session, operator):
    from vcollege.core.accounts import create_api_token

    def make(*scopes: str, **kwargs):
        token, raw = create_api_token(session, name=kwargs.pop("name", "test"), scopes=list(scopes),
                                      actor=operator, now=kwargs.pop("now", NOW), **kwargs)
        session.commit()
        return token, {"Authorization": f"Bearer {raw}"}

    return make


@pytest.fixture
def sign_in(client):
    """Put `person` in the test client's session, as a password or LTI sign-in."""
    from vcollege.auth import SESSION_VIA

    def do(person, via: str = "password"):
        with client.session_transaction() as flask_session:
            flask_session["_user_id"] = str(person.id)
            flask_session["_fresh"] = True
            flask_session[SESSION_VIA] = via
        return person

    return do


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token of the client's session, read from a rendered form."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def csrf(client):
    return lambda path="/": csrf_token(client, path)


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))
