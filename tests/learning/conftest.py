"""Fixtures of the learning tests: the fixture catalogue, a learner, a trainer, and helpers
that take a learner through a course."""

from __future__ import annotations

import pytest

from tests.catalogue.fixtures import sync_fixture_courses
from tests.conftest import NOW


@pytest.fixture
def courses(session):
    """The fixture catalogue: cites-basics, customs-checks, ndf-workshop (version 1 each)."""
    sync_fixture_courses(session)
    session.commit()
    from vcollege.catalogue.service import get_version

    return {slug: get_version(session, slug) for slug in ("cites-basics", "customs-checks", "ndf-workshop")}


@pytest.fixture
def learner(make_person):
    from vcollege.core.models import Agency

    return make_person("Wanjiru Kamau", party="KE", agency=Agency.MANAGEMENT_AUTHORITY, preferred_language="en")


@pytest.fixture
def trainer(make_staff):
    from vcollege.core.models import Role
    from vcollege.core.permissions import Actor

    return Actor.for_person(make_staff(Role.TRAINER, name="Carlos Mendoza"))


def learner_actor(person):
    from vcollege.core.permissions import Actor

    return Actor.for_person(person)


RIGHT = {"q1": ["a"], "q2": ["a", "b"]}  # cites-basics / appendices
HALF = {"q1": ["a"], "q2": ["a"]}  # 50%
WRONG = {"q1": ["b"], "q2": ["c"]}  # 0%


def enrol(session, person, version, *, now=NOW, source="trainer"):
    from vcollege.core.permissions import Actor
    from vcollege.learning.service import enrol_learner

    return enrol_learner(session, person, version, source=source, actor=Actor.operator("tests"), now=now)


def finish_basics(session, person, version, *, now=NOW, answers=RIGHT):
    """Enrol `person` in cites-basics and complete it; returns the enrolment."""
    from vcollege.learning.service import mark_read, submit_quiz

    enrolment = enrol(session, person, version, now=now)
    actor = learner_actor(person)
    submit_quiz(session, enrolment, "appendices", answers, language="en", actor=actor, now=now)
    mark_read(session, enrolment, "authorities", actor=actor, now=now)
    session.commit()
    return enrolment


@pytest.fixture
def statements(session):
    """`statements(fn)`: the SQL statements `fn()` sent through the test's connection (a
    `before_cursor_execute` listener), to show that a page's queries do not grow with its rows."""
    from sqlalchemy import event

    connection = session.get_bind()

    def run(fn) -> list[str]:
        seen: list[str] = []

        def listener(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                seen.append(statement)

        event.listen(connection, "before_cursor_execute", listener)
        try:
            fn()
        finally:
            event.remove(connection, "before_cursor_execute", listener)
        return seen

    return run
