"""Reading the catalogue: lookups, filters, texts in a language, quizzes, completion rules."""

from __future__ import annotations

import pytest

from tests.catalogue.fixtures import FIXTURE_COURSES, sync_fixture_courses
from vcollege.catalogue.models import Delivery
from vcollege.catalogue.service import (
    CompletionRule,
    competencies,
    completion_rule,
    coverage,
    find_course,
    get_course,
    get_version,
    list_courses,
    localized,
    module_in,
    public_quiz,
    quiz_in,
)
from vcollege.core.models import Agency
from vcollege.errors import NotFound


@pytest.fixture
def synced(session):
    sync_fixture_courses(session)
    return session


def slugs(versions) -> list[str]:
    return [v.course.slug for v in versions]


def test_unknown_course_and_version_are_not_found(synced):
    assert find_course(synced, "nowhere") is None
    with pytest.raises(NotFound) as caught:
        get_course(synced, "nowhere")
    assert "slug" in caught.value.errors
    with pytest.raises(NotFound) as caught:
        get_version(synced, "cites-basics", 2)
    assert "version" in caught.value.errors
    assert get_version(synced, "cites-basics", 1) is get_version(synced, "cites-basics")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["cites-basics", "customs-checks", "ndf-workshop"]),
        ({"language": "fr"}, ["cites-basics"]),  # customs-checks is only partly in French
        ({"language": "es"}, ["cites-basics", "ndf-workshop"]),
        ({"language": "pt"}, []),
        ({"audience": Agency.CUSTOMS}, ["customs-checks"]),
        ({"audience": "scientific_authority"}, ["cites-basics", "ndf-workshop"]),
        ({"competency": "identification"}, ["customs-checks"]),
        ({"delivery": Delivery.IN_PERSON}, ["ndf-workshop"]),
        ({"delivery": "online", "language": "es"}, ["cites-basics"]),
        ({"audience": "judiciary"}, []),
    ],
)
def test_list_filters(synced, filters, expected):
    assert slugs(list_courses(synced, **filters)) == expected


def test_localized_falls_back_to_english():
    texts = {"en": "Appendices", "fr": "Annexes", "pt": "Apêndices"}
    assert localized(texts, "fr") == ("fr", "Annexes")
    assert localized(texts, "pt-BR") == ("pt", "Apêndices")
    assert localized(texts, "es") == ("en", "Appendices")
    assert localized(texts, None) == ("en", "Appendices")
    assert localized({}, "fr") == ("en", "")


def test_module_in_a_language_or_english(synced):
    guidance, cases = get_version(synced, "ndf-workshop").modules
    assert module_in(guidance, "pt")[:2] == ("pt", "A orientação sobre pareceres")
    lang, title, text = module_in(cases, "pt")
    assert (lang, title) == ("en", "Case studies") and text.startswith("Groups work")
    assert module_in(cases, "es")[1] == "Estudios de caso"


def test_quiz_in_a_language_and_without_answers(synced):
    appendices, authorities = get_version(synced, "cites-basics").modules
    lang, questions = quiz_in(appendices, "es")
    assert lang == "es" and questions[0]["text"].startswith("¿Qué Apéndice")
    assert quiz_in(appendices, "pt")[0] == "en"
    assert quiz_in(authorities, "fr") == ("en", [])
    shown = public_quiz(questions)
    assert [q["multiple"] for q in shown] == [False, True]
    assert shown[0]["choices"] == [{"id": "a", "text": "Apéndice I"}, {"id": "b", "text": "Apéndice II"},
                                   {"id": "c", "text": "Apéndice III"}]
    assert "correct" not in str(shown) and "explanation" not in str(shown)
    assert questions[0]["choices"][0]["correct"] is True  # the stored quiz is untouched


def test_completion_rules(synced):
    assert completion_rule(get_version(synced, "cites-basics")) == CompletionRule(("appendices", "authorities"), 70, None)
    assert completion_rule(get_version(synced, "customs-checks")).modules == ("reading-a-permit", "inspecting-a-shipment")
    assert completion_rule(get_version(synced, "ndf-workshop")) == CompletionRule(("the-ndf-guidance", "case-studies"), 0, 80)


def test_competencies_are_read_from_the_one_file():
    areas = {c.id: c.titles for c in competencies(FIXTURE_COURSES)}
    assert areas["non_detriment_findings"]["es"] == "Dictámenes de extracción no perjudicial"
    assert len(areas) == 7


def test_coverage_matrix(synced):
    matrix = coverage(synced)
    assert matrix.languages == ["en", "fr", "es", "pt"]
    states = {row.slug: {code: cell.state.value for code, cell in row.cells.items()} for row in matrix.rows}
    assert states == {
        "cites-basics": {"en": "complete", "fr": "complete", "es": "complete", "pt": "missing"},
        "customs-checks": {"en": "complete", "fr": "partial", "es": "missing", "pt": "missing"},
        "ndf-workshop": {"en": "complete", "fr": "missing", "es": "complete", "pt": "partial"},
    }
    fr = matrix.rows[1].cells["fr"]
    assert (fr.title, fr.summary, fr.modules, fr.quizzes) == (True, True, 1, 0)
    pt = matrix.rows[2].cells["pt"]
    assert (pt.title, pt.summary, pt.modules) == (True, False, 1)
    assert matrix.courses_in("complete", "es") == ["cites-basics", "ndf-workshop"]
