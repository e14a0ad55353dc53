"""Two sessions at once, each in its own transaction on its own database (the suite's rolled-back
session cannot show what another transaction committed): the enrolment's lock reads it fresh,
so what another session did before counts, however stale the caller's objects are."""

import flask_migrate
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import NOW, test_config
from tests.databases import engine_name
from tests.learning.conftest import HALF, RIGHT
from vcollege.errors import Conflict
from vcollege.extensions import db
from vcollege.learning.models import Completion, Enrolment, EnrolmentStatus, QuizAttempt


@pytest.fixture
def engine(databases, tmp_path):
    from tests.catalogue.fixtures import sync_fixture_courses
    from vcollege import create_app
    from vcollege.catalogue.service import get_version
    from vcollege.core.models import Agency
    from vcollege.core.parties import load_parties_file
    from vcollege.core.people import create_person
    from vcollege.core.permissions import Actor
    from vcollege.learning.service import enrol_learner

    app = create_app(test_config(databases.new_url("learning_locks"), tmp_path))
    with app.app_context():
        flask_migrate.upgrade()
        operator = Actor.operator("tests")
        load_parties_file(db.session, None, actor=operator, now=NOW)
        sync_fixture_courses(db.session)
        person = create_person(db.session, name="Concurrent Learner", email="concurrent@example.org", party="KE",
                               agency=Agency.MANAGEMENT_AUTHORITY, actor=operator, now=NOW)
        enrol_learner(db.session, person, get_version(db.session, "cites-basics"), source="trainer",
                      actor=operator, now=NOW)
        db.session.commit()
        db.session.remove()
        yield db.engine


def _stale_enrolment(session: Session) -> Enrolment:
    """The enrolment with everything a service reads loaded, then the transaction ended:
    the object stays as it was (a request that read it a moment ago)."""
    enrolment = session.scalars(select(Enrolment)).one()
    assert enrolment.status == EnrolmentStatus.ACTIVE and enrolment.completion is None
    _ = (enrolment.person, enrolment.version.modules, enrolment.attempts, enrolment.progress, enrolment.waivers)
    session.commit()
    return enrolment


def _learner(session: Session, enrolment: Enrolment):
    from vcollege.core.permissions import Actor

    return Actor.for_person(enrolment.person)


def _count(engine, model) -> int:
    with Session(engine) as fresh:
        return fresh.scalar(select(func.count()).select_from(model))


def test_a_quiz_submitted_after_completion_elsewhere_is_refused(engine):
    from vcollege.learning.service import mark_read, submit_quiz

    with Session(engine, expire_on_commit=False) as first, Session(engine) as second:
        stale = _stale_enrolment(first)

        # Meanwhile, in another request, the learner passes the quiz and reads the last module.
        other = second.get(Enrolment, stale.id)
        submit_quiz(second, other, "appendices", RIGHT, language="en", actor=_learner(second, other), now=NOW)
        assert mark_read(second, other, "authorities", actor=_learner(second, other), now=NOW).completion
        second.commit()

        # The first request still believes the course is in progress.
        assert stale.status == EnrolmentStatus.ACTIVE
        with pytest.raises(Conflict) as refused:
            submit_quiz(first, stale, "appendices", HALF, language="en", actor=_learner(first, stale), now=NOW)
        assert refused.value.errors == {"status": ["completed"]}
        first.rollback()
    assert _count(engine, QuizAttempt) == 1 and _count(engine, Completion) == 1


@pytest.mark.skipif(engine_name() != "postgresql",
                    reason="SQLite serialises transactions: the second could not begin while the first is open")
def test_a_quiz_submitted_within_a_stale_transaction_is_refused(engine):
    """The same, with the first transaction still open since it read the enrolment: PostgreSQL
    reads the row afresh under `FOR UPDATE` (completed: Conflict)."""
    from vcollege.learning.service import mark_read, submit_quiz

    with Session(engine) as first, Session(engine) as second:
        stale = first.scalars(select(Enrolment)).one()
        _ = (stale.attempts, stale.progress, stale.waivers, stale.completion)
        other = second.get(Enrolment, stale.id)
        submit_quiz(second, other, "appendices", RIGHT, language="en", actor=_learner(second, other), now=NOW)
        mark_read(second, other, "authorities", actor=_learner(second, other), now=NOW)
        second.commit()
        with pytest.raises(Conflict):
            submit_quiz(first, stale, "appendices", HALF, language="en", actor=_learner(first, stale), now=NOW)
        first.rollback()
    assert _count(engine, QuizAttempt) == 1 and _count(engine, Completion) == 1


def test_attempts_made_elsewhere_are_counted_under_the_lock(engine):
    """A stale list of attempts must not number a new attempt twice, nor let a learner go past
    the limit: the lock reloads what hangs on the enrolment."""
    from vcollege.learning.service import submit_quiz

    with Session(engine, expire_on_commit=False) as first, Session(engine) as second:
        stale = _stale_enrolment(first)
        assert stale.attempts == []
        other = second.get(Enrolment, stale.id)
        for _ in range(2):
            submit_quiz(second, other, "appendices", HALF, language="en", actor=_learner(second, other), now=NOW)
        second.commit()

        outcome = submit_quiz(first, stale, "appendices", HALF, language="en", actor=_learner(first, stale), now=NOW)
        assert outcome.attempt.number == 3 and outcome.state.module("appendices").attempts_left == 0
        first.commit()
        with pytest.raises(Conflict) as refused:  # three attempts allowed, all used
            submit_quiz(first, stale, "appendices", RIGHT, language="en", actor=_learner(first, stale), now=NOW)
        assert "attempts" in refused.value.errors
        first.rollback()
    assert _count(engine, QuizAttempt) == 3
