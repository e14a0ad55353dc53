"""`lock_for_update`: what is counted is read under a lock, on both engines."""

import flask_migrate
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.conftest import NOW, test_config
from tests.databases import engine_name
from vcollege.core.models import Party
from vcollege.errors import TryAgain
from vcollege.extensions import db, lock_for_update


@pytest.fixture
def engine(databases, tmp_path):
    from vcollege import create_app
    from vcollege.core.parties import load_parties_file
    from vcollege.core.permissions import Actor

    app = create_app(test_config(databases.new_url("locking"), tmp_path))
    with app.app_context():
        flask_migrate.upgrade()
        load_parties_file(db.session, None, actor=Actor.operator("tests"), now=NOW)
        db.session.commit()
        db.session.remove()
        yield db.engine


def test_rows_are_read_fresh_under_the_lock(engine):
    with Session(engine) as first, Session(engine) as second:
        kenya = first.query(Party).filter_by(iso2="KE").one()
        assert kenya.name == "Kenya"
        first.commit()  # a new transaction starts with the lock below
        second.execute(update(Party).where(Party.iso2 == "KE").values(name="Kenya (renamed)"))
        second.commit()
        [locked] = lock_for_update(first, Party, kenya.id)
        assert locked is kenya and locked.name == "Kenya (renamed)"
        first.rollback()


@pytest.mark.skipif(engine_name() != "sqlite", reason="SQLite locks the database, not rows")
def test_sqlite_refuses_a_stale_transaction_with_try_again(engine):
    with Session(engine) as first, Session(engine) as second:
        kenya = first.query(Party).filter_by(iso2="KE").one()  # first's snapshot begins here
        second.execute(update(Party).where(Party.iso2 == "KE").values(name="Kenya (renamed)"))
        second.commit()  # someone else changed it since
        with pytest.raises(TryAgain):
            lock_for_update(first, Party, kenya.id)
        first.rollback()


@pytest.mark.skipif(engine_name() != "sqlite", reason="SQLite locks the database, not rows")
def test_sqlite_a_second_writer_waits_for_the_lock(engine):
    with Session(engine) as first, Session(engine) as second:
        [kenya] = lock_for_update(first, Party, first.query(Party.id).filter_by(iso2="KE").scalar())
        second.connection().exec_driver_sql("PRAGMA busy_timeout=200")
        with pytest.raises(TryAgain):  # still locked by `first` after the busy timeout
            lock_for_update(second, Party, kenya.id)
        second.rollback()
        first.rollback()
