"""Syncing: courses added, new versions on change, retirement and return, idempotence, audit."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.catalogue.fixtures import FIXTURE_COURSES, sync_fixture_courses
from tests.conftest import NOW, count
from vcollege.catalogue.loader import read_catalogue
from vcollege.catalogue.models import (
    Course,
    CourseStatus,
    CourseVersion,
    Delivery,
    ImmutableRecord,
    Module,
)
from vcollege.catalogue.service import get_course, get_version, list_courses, sync_catalogue
from vcollege.core.models import AuditEntry, Role
from vcollege.core.permissions import Actor
from vcollege.errors import Forbidden

LATER = NOW + dt.timedelta(days=30)


def sync(session, courses, *, now=LATER, actor=None):
    return sync_catalogue(session, courses.root, actor=actor or Actor.operator("tests"), now=now)


def audit_actions(session, slug: str) -> list[str]:
    course = get_course(session, slug)
    return list(session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_type == "courses", AuditEntry.target_id == str(course.id))
        .order_by(AuditEntry.id)
    ))


def test_first_sync_adds_every_course_with_its_modules(session):
    result = sync_fixture_courses(session)
    assert result.added == ["cites-basics", "customs-checks", "ndf-workshop"]
    assert str(result) == "3 added, 0 new versions, 0 retired, 0 unchanged"
    version = get_version(session, "cites-basics")
    assert version.number == 1 and version.course.status == CourseStatus.ACTIVE
    assert version.title["fr"] == "Les bases de la CITES"
    assert version.audiences == ["management_authority", "scientific_authority", "other"]
    assert version.delivery == Delivery.ONLINE and version.hours == Decimal("2.50")
    assert version.languages == ["en", "fr", "es"]
    assert version.completion == {"modules": "all", "min_score": 70, "attendance": None}
    assert [(m.position, m.key, m.minutes) for m in version.modules] == [(0, "appendices", 40), (1, "authorities", 30)]
    appendices = version.modules[0]
    assert appendices.title["es"] == "Los tres Apéndices"
    assert appendices.content["en"].startswith("Appendix I lists species")  # the title line is not in the text
    assert (appendices.pass_mark, appendices.attempts) == (70, 3)
    q2 = appendices.quiz["fr"][1]
    assert [(c["id"], c["correct"]) for c in q2["choices"]] == [("a", True), ("b", True), ("c", False)]
    assert appendices.quiz["en"][1]["explanation"] == ""
    assert version.modules[1].quiz is None and version.modules[1].pass_mark is None
    ndf = get_version(session, "ndf-workshop")
    assert ndf.completion["attendance"] == 80 and ndf.delivery == Delivery.IN_PERSON
    assert ndf.modules[0].content["pt"].startswith("A Resolução Conf. 16.7")
    assert get_version(session, "customs-checks").prerequisites == ["cites-basics"]
    assert audit_actions(session, "cites-basics") == ["catalogue.course_added"]


def test_a_second_sync_changes_nothing(session, courses):
    sync_fixture_courses(session)
    rows = [count(session, model) for model in (Course, CourseVersion, Module, AuditEntry)]
    result = sync(session, courses)
    assert str(result) == "0 added, 0 new versions, 0 retired, 3 unchanged"
    assert not result.changed
    assert [count(session, model) for model in (Course, CourseVersion, Module, AuditEntry)] == rows


def test_line_endings_and_byte_order_marks_do_not_make_a_version(session, courses):
    sync(session, courses, now=NOW)
    path = courses / "cites-basics/en/appendices.md"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n") + b"\r\n\r\n")
    assert sync(session, courses).unchanged == ["cites-basics", "customs-checks", "ndf-workshop"]


def test_a_changed_module_file_makes_a_new_version_and_keeps_the_old(session, courses):
    sync(session, courses, now=NOW)
    first = get_version(session, "cites-basics")
    courses.edit("cites-basics/fr/authorities.md", "Chaque Partie désigne", "Chaque Partie à la Convention désigne")
    result = sync(session, courses)
    assert result.new_versions == ["cites-basics"]
    assert result.unchanged == ["customs-checks", "ndf-workshop"]
    assert str(result) == "0 added, 1 new versions, 0 retired, 2 unchanged"
    current = get_version(session, "cites-basics")
    assert (first.number, current.number) == (1, 2)
    assert current.content_hash != first.content_hash and current.created_at == LATER
    assert "à la Convention" in current.modules[1].content["fr"]
    old = get_version(session, "cites-basics", 1)
    assert old.id == first.id and "à la Convention" not in old.modules[1].content["fr"]
    assert old.created_at == NOW
    assert [v.number for v in get_course(session, "cites-basics").versions] == [1, 2]
    assert count(session, Module, Module.version_id == old.id) == 2
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "catalogue.version_added"))
    assert entry.detail["version"] == 2 and entry.detail["previous"] == 1
    assert entry.actor_label == "tests" and entry.target_label == "cites-basics"
    assert sync(session, courses, now=LATER + dt.timedelta(days=1)).unchanged == ["cites-basics", "customs-checks", "ndf-workshop"]


def test_a_changed_course_toml_makes_a_new_version(session, courses):
    sync(session, courses, now=NOW)
    courses.edit("ndf-workshop/course.toml", "hours = 16", "hours = 14")
    assert sync(session, courses).new_versions == ["ndf-workshop"]
    assert get_version(session, "ndf-workshop").hours == Decimal("14.00")
    assert get_version(session, "ndf-workshop", 1).hours == Decimal("16.00")


def test_a_removed_course_is_retired_then_restored(session, courses):
    sync(session, courses, now=NOW)
    courses.remove("ndf-workshop")
    result = sync(session, courses)
    assert result.retired == ["ndf-workshop"]
    assert str(result) == "0 added, 0 new versions, 1 retired, 2 unchanged"
    course = get_course(session, "ndf-workshop")  # still found: those who took it keep reading it
    assert course.status == CourseStatus.RETIRED and course.retired_at == LATER
    assert get_version(session, "ndf-workshop").number == 1
    assert "ndf-workshop" not in [v.course.slug for v in list_courses(session)]
    assert "ndf-workshop" in [v.course.slug for v in list_courses(session, include_retired=True)]
    assert sync(session, courses).unchanged == ["cites-basics", "customs-checks"]  # retiring once is enough

    shutil.copytree(FIXTURE_COURSES / "ndf-workshop", courses / "ndf-workshop", dirs_exist_ok=True)
    back = sync(session, courses, now=LATER + dt.timedelta(days=1))
    assert back.new_versions == [] and back.restored == ["ndf-workshop"]  # unchanged: version 1 again
    course = get_course(session, "ndf-workshop")
    assert course.status == CourseStatus.ACTIVE and course.retired_at is None
    assert [v.number for v in course.versions] == [1] and course.current_version.number == 1
    assert audit_actions(session, "ndf-workshop") == [
        "catalogue.course_added", "catalogue.course_retired", "catalogue.course_restored",
    ]


def test_a_course_that_comes_back_changed_gets_a_new_version(session, courses):
    sync(session, courses, now=NOW)
    courses.remove("ndf-workshop")
    sync(session, courses)
    shutil.copytree(FIXTURE_COURSES / "ndf-workshop", courses / "ndf-workshop", dirs_exist_ok=True)
    module = next((courses / "ndf-workshop" / "en").glob("*.md"))
    module.write_text(module.read_text() + "\nOne more paragraph.\n")
    back = sync(session, courses, now=LATER + dt.timedelta(days=1))
    assert back.new_versions == ["ndf-workshop"] and back.restored == ["ndf-workshop"]
    assert [v.number for v in get_course(session, "ndf-workshop").versions] == [1, 2]


def test_syncing_needs_the_permission(session, courses, make_staff):
    trainer = Actor.for_person(make_staff(Role.TRAINER))
    with pytest.raises(Forbidden):
        sync(session, courses, actor=trainer)
    assert count(session, Course) == 0
    secretariat = Actor.for_person(make_staff(Role.SECRETARIAT))
    assert sync(session, courses, actor=secretariat).added
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "catalogue.course_added"))
    assert entry.actor_id == secretariat.person_id


def test_progress_is_reported_for_every_course_read_and_written(session, courses):
    calls = []
    sync_catalogue(session, courses.root, actor=Actor.operator("tests"), now=NOW,
                   progress=lambda done, total: calls.append((done, total)))
    assert calls == [(n, 6) for n in range(1, 7)]


def test_versions_are_immutable(session):
    sync_fixture_courses(session)
    version = get_version(session, "cites-basics")
    version.hours = Decimal("99")
    with pytest.raises(ImmutableRecord):
        session.flush()


def test_modules_are_immutable(session):
    sync_fixture_courses(session)
    module = get_version(session, "cites-basics").modules[0]
    module.title = {"en": "Changed"}
    with pytest.raises(ImmutableRecord):
        session.flush()


def test_specs_carry_what_the_versions_store():
    catalogue = read_catalogue(FIXTURE_COURSES)
    assert [c.slug for c in catalogue.courses] == ["cites-basics", "customs-checks", "ndf-workshop"]
    assert {c.id for c in catalogue.competencies} >= {"legislation", "non_detriment_findings"}
    assert len({c.content_hash for c in catalogue.courses}) == 3
