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


def test_a_transaction_that_waits_for_the_lock_then_reads_what_the_other_wrote(engine):
    """Two counters at once: the second waits for the first, then sees its result (never a
    lost update). PostgreSQL waits on the row lock; SQLite on its write lock."""
    import threading
    import time

    with Session(engine) as setup:
        kenya_id = setup.query(Party.id).filter_by(iso2="KE").scalar()
    holding = threading.Event()

    def first():
        with Session(engine) as session:
            [kenya] = lock_for_update(session, Party, kenya_id)
            holding.set()
            time.sleep(0.3)
            kenya.name = kenya.name + " +1"
            session.commit()

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    with Session(engine) as second:
        started = time.monotonic()
        [kenya] = lock_for_update(second, Party, kenya_id)
        waited = time.monotonic() - started
        kenya.name = kenya.name + " +1"
        second.commit()
    thread.join(5)
    with Session(engine) as check:
        assert check.get(Party, kenya_id).name == "Kenya +1 +1"
    assert waited > 0.1  # it waited for the first


@pytest.mark.skipif(engine_name() != "sqlite", reason="SQLite locks the database, not rows")
def test_sqlite_a_writer_still_locked_out_after_the_busy_timeout_is_told_to_try_again(engine):
    with Session(engine) as first, engine.connect() as connection:
        [kenya] = lock_for_update(first, Party, first.query(Party.id).filter_by(iso2="KE").scalar())
        connection.connection.driver_connection.execute("PRAGMA busy_timeout=200")  # before BEGIN
        with Session(bind=connection) as second, pytest.raises(TryAgain):
            lock_for_update(second, Party, kenya.id)
        first.rollback()
