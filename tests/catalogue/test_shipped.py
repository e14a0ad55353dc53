"""The catalogue shipped in `courses/`: it loads, and it holds what the College promises.

The tests marked CONTENT check the courses themselves: a missing translation, a quiz answer
that is not among its choices, or a course short fails the suite.
"""

from __future__ import annotations

import re

import pytest

from vcollege.catalogue.schemas import CourseFileSchema
from vcollege.catalogue.service import (
    WORKING_LANGUAGES,
    Coverage,
    competencies,
    course_folders,
    coverage_of,
    read_catalogue,
    sync_catalogue,
)
from vcollege.config import PROJECT_ROOT
from vcollege.core.permissions import Actor

SHIPPED = PROJECT_ROOT / "courses"


def test_the_competency_list_is_valid_and_in_the_working_languages():
    areas = competencies(SHIPPED)
    assert len(areas) >= 5
    for area in areas:
        assert set(WORKING_LANGUAGES) <= set(area.titles), area.id


def test_the_readme_example_is_a_valid_course_toml():
    readme = (SHIPPED / "README.md").read_text("utf-8")
    example = re.search(r"## course.toml\n+```toml\n(.*?)```", readme, re.S)[1]
    import tomllib

    data = CourseFileSchema().load(tomllib.loads(example))
    assert data["audiences"] == ["customs", "enforcement"]
    assert data["completion"] == {"modules": "all", "min_score": 70, "attendance": None}


@pytest.fixture(scope="module")
def shipped():
    assert course_folders(SHIPPED), "courses/ holds no course"
    return read_catalogue(SHIPPED)  # every file checked; raises naming each problem


# --- CONTENT: these depend on the courses in courses/ -----------------------------------


def test_content_loads_into_the_database(session, now, shipped):
    result = sync_catalogue(session, SHIPPED, actor=Actor.operator("tests"), now=now)
    assert sorted(result.added) == sorted(c.slug for c in shipped.courses)


def test_content_every_quiz_answer_is_among_its_choices(shipped):
    quizzes = 0
    for course in shipped.courses:
        for module in course.modules:
            for lang, questions in (module.quiz or {}).items():
                quizzes += 1
                for question in questions:
                    ids = [c["id"] for c in question["choices"]]
                    correct = [c["id"] for c in question["choices"] if c["correct"]]
                    where = f"{course.slug}/{lang}/{module.key} {question['id']}"
                    assert len(ids) >= 2 and len(set(ids)) == len(ids), where
                    assert correct and set(correct) <= set(ids), where
    assert quizzes > 0


def test_content_every_course_has_titles_and_summaries_in_the_working_languages(shipped):
    for course in shipped.courses:
        for lang in WORKING_LANGUAGES:
            assert course.title.get(lang), f"{course.slug}: no {lang} title"
            assert course.summary.get(lang), f"{course.slug}: no {lang} summary"


def test_content_at_least_six_courses_one_in_person(shipped):
    assert len(shipped.courses) >= 6
    assert any(course.delivery == "in_person" for course in shipped.courses)


def test_content_at_least_two_courses_complete_in_the_working_languages(shipped):
    matrix = coverage_of(shipped.courses)
    complete = [row.slug for row in matrix.rows
                if all(row.cells[lang].state == Coverage.COMPLETE for lang in WORKING_LANGUAGES)]
    assert len(complete) >= 2, complete


def test_content_a_module_exists_in_a_language_beyond_the_working_ones(shipped):
    others = {
        lang
        for course in shipped.courses
        for module in course.modules
        for lang in module.content
        if lang not in WORKING_LANGUAGES
    }
    assert others, "no module in Portuguese, Arabic, Chinese, Russian..."


def test_content_the_promised_courses_are_there(shipped):
    slugs = {course.slug for course in shipped.courses}
    assert {
        "introduction-to-cites", "non-detriment-findings", "legal-acquisition-findings",
        "cites-for-customs", "wildlife-crime-enforcement", "permits-and-e-permitting",
        "national-train-the-trainer-workshop",
    } <= slugs
