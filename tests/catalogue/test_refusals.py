"""Every way a catalogue folder is refused: the error names the file, the line where there is
one, and the field; and nothing is written."""

from __future__ import annotations

import pytest

from tests.catalogue.fixtures import sync_fixture_courses
from tests.conftest import NOW, count
from vcollege.catalogue.models import Course, CourseVersion, Module
from vcollege.catalogue.service import CatalogueInvalid, read_catalogue, sync_catalogue
from vcollege.core.models import AuditEntry
from vcollege.core.permissions import Actor
from vcollege.errors import InvalidInput

BASICS = "cites-basics/course.toml"
CUSTOMS = "customs-checks/course.toml"
NDF = "ndf-workshop/course.toml"
CUSTOMS_QUIZ = "customs-checks/en/reading-a-permit.quiz.toml"
BASICS_FR_QUIZ = "cites-basics/fr/appendices.quiz.toml"


def _rows(session) -> tuple[int, ...]:
    return tuple(count(session, model) for model in (Course, CourseVersion, Module, AuditEntry))


def refused(session, courses) -> CatalogueInvalid:
    """Sync the broken folder over a synced catalogue: refused, and not one row written."""
    sync_fixture_courses(session)
    before = _rows(session)
    with pytest.raises(CatalogueInvalid) as caught:
        sync_catalogue(session, courses.root, actor=Actor.operator("tests"), now=NOW)
    assert _rows(session) == before
    assert isinstance(caught.value, InvalidInput)
    return caught.value


def fields_at(error: CatalogueInvalid, where: str) -> dict[str, list[str]]:
    assert where in error.errors, f"{where} not in {list(error.errors)}"
    return error.errors[where]


def test_a_toml_syntax_error_names_file_and_line(session, courses):
    line = courses.line_of(BASICS, 'delivery = "online"')
    courses.edit(BASICS, 'delivery = "online"', 'delivery "online"')
    error = refused(session, courses)
    messages = fields_at(error, f"{BASICS}:{line}")["syntax"]
    assert "column 10" in messages[0]
    problem = error.problems[0]
    assert (problem.file, problem.line, problem.field) == (BASICS, line, "syntax")
    assert str(problem) == f"{BASICS}:{line}: syntax: {messages[0]}"


def test_a_syntax_error_at_the_end_of_a_quiz_file(session, courses):
    courses.write(CUSTOMS_QUIZ, courses.read(CUSTOMS_QUIZ) + 'text = "unterminated\n')
    error = refused(session, courses)
    assert any(p.file == CUSTOMS_QUIZ and p.field == "syntax" and p.line for p in error.problems)


@pytest.mark.parametrize(
    ("rel", "old", "new", "where", "field", "words"),
    [
        # titles and summaries
        (BASICS, '[title]\nen = "CITES basics"\nfr = "Les bases de la CITES"\nes = "Conceptos básicos de la CITES"\n', "",
         BASICS, "title", "Missing data"),
        (BASICS, 'en = "CITES basics"\n', "", BASICS, "title.en", "English is required"),
        (BASICS, 'es = "Conceptos básicos de la CITES"\n', "", BASICS, "title.es", "es is listed in `languages`"),
        (CUSTOMS, 'en = "How customs officers check a permit against the shipment."', 'en = "  "', CUSTOMS, "summary.en", "non-empty"),
        (BASICS, 'access = "open"\n', "", BASICS, "access", "Missing data"),
        (BASICS, '[summary]\n', '[summary]\naccess = "open"\n', BASICS, "summary.access", "Put `access`"),
        # the course's fields
        (BASICS, "format = 1", "format = 2", BASICS, "format", "Must be 1"),
        (BASICS, "audiences = [", "audience = [", BASICS, "audience", "Unknown field"),
        (CUSTOMS, 'audiences = ["customs", "enforcement"]', 'audiences = ["customs", "police"]', CUSTOMS, "audiences[#2]", "'police' is not one of"),
        (CUSTOMS, 'audiences = ["customs", "enforcement"]', 'audiences = ["customs", "customs"]', CUSTOMS, "audiences", "listed twice"),
        (CUSTOMS, 'audiences = ["customs", "enforcement"]', "audiences = []", CUSTOMS, "audiences", "at least one"),
        (CUSTOMS, '"identification"]', '"wildlife_forensics"]', CUSTOMS, "competencies[#2]", "Unknown competency area 'wildlife_forensics'"),
        (BASICS, 'delivery = "online"', 'delivery = "webinar"', BASICS, "delivery", "'webinar' is not one of: online, in_person, blended"),
        (BASICS, 'access = "open"', 'access = "members"', BASICS, "access", "not one of: open, authorities"),
        (BASICS, "hours = 2.5", 'hours = "2.5"', BASICS, "hours", "Must be a number"),
        (BASICS, "hours = 2.5", "hours = 0", BASICS, "hours", ""),
        (BASICS, 'languages = ["en", "fr", "es"]', 'languages = ["fr", "es"]', BASICS, "languages", "Must include en"),
        (BASICS, 'languages = ["en", "fr", "es"]', 'languages = ["en", "french"]', BASICS, "languages[#2]", "language code"),
        # modules and the completion rule
        (BASICS, 'id = "authorities"', 'id = "appendices"', BASICS, "modules[appendices].id", "used twice"),
        (BASICS, "minutes = 40", "minutes = 0", BASICS, "modules[appendices].minutes", ""),
        (BASICS, "pass_mark = 70", "pass_mark = 170", BASICS, "modules[appendices].quiz.pass_mark", ""),
        (BASICS, 'id = "authorities"', 'id = "Authorities"', BASICS, "modules[Authorities].id", "lower-case"),
        (CUSTOMS, 'modules = ["reading-a-permit", "inspecting-a-shipment"]', 'modules = ["reading-a-permit", "inspecting"]',
         CUSTOMS, "completion.modules[#2]", "'inspecting' is not a module of this course"),
        (NDF, "attendance = 80\n", "", NDF, "completion.attendance", "Required for a in_person course"),
        (BASICS, "min_score = 70", "min_score = 70\nattendance = 75", BASICS, "completion.attendance", "Only in_person and blended"),
        (NDF, "min_score = 0", "min_score = 60", NDF, "completion.min_score", "No required module has a quiz"),
        # prerequisites
        (CUSTOMS, 'prerequisites = ["cites-basics"]', 'prerequisites = ["cites-basic"]', CUSTOMS, "prerequisites[#1]", "No course 'cites-basic'"),
        (CUSTOMS, 'prerequisites = ["cites-basics"]', 'prerequisites = ["customs-checks"]', CUSTOMS, "prerequisites[#1]", "its own prerequisite"),
        (BASICS, "prerequisites = []", 'prerequisites = ["customs-checks"]', BASICS, "prerequisites",
         "cycle: cites-basics → customs-checks → cites-basics"),
        # quizzes
        (CUSTOMS_QUIZ, '{ id = "a", text = "Six months", correct = true }', '{ id = "a", text = "Six months" }',
         CUSTOMS_QUIZ, "questions[validity].choices", "No choice is marked `correct = true`"),
        (CUSTOMS_QUIZ, 'text = "How long is an export permit valid?"', 'text = "How long is an export permit valid?"\ncorrect = "c"',
         CUSTOMS_QUIZ, "questions[validity].correct", "Names c, which is not among the choices (a, b)"),
        (CUSTOMS_QUIZ, "correct = true", 'correct = "yes"', CUSTOMS_QUIZ, "questions[validity].choices[a].correct", "true or false"),
        (CUSTOMS_QUIZ, '  { id = "b", text = "One year" },\n', "", CUSTOMS_QUIZ, "questions[validity].choices", "at least two choices"),
        (CUSTOMS_QUIZ, '{ id = "b", text = "One year" }', '{ id = "a", text = "One year" }', CUSTOMS_QUIZ,
         "questions[validity].choices[a].id", "used twice"),
        (BASICS_FR_QUIZ, '{ id = "c", text = "Annexe III" }', '{ id = "d", text = "Annexe III" }', BASICS_FR_QUIZ,
         "questions[q1].choices", "unknown choice id d"),
        (BASICS_FR_QUIZ, '{ id = "b", text = "Annexe II" }', '{ id = "b", text = "Annexe II", correct = true }', BASICS_FR_QUIZ,
         "questions[q1].choices[b].correct", "Differs from English"),
        (BASICS_FR_QUIZ, 'id = "q2"', 'id = "q3"', BASICS_FR_QUIZ, "questions", "missing q2; not in English: q3"),
        ("cites-basics/en/appendices.quiz.toml", 'id = "q2"', 'id = "q1"', "cites-basics/en/appendices.quiz.toml",
         "questions[q1].id", "used twice"),
    ],
)
def test_a_wrong_field_is_named(session, courses, rel, old, new, where, field, words):
    courses.edit(rel, old, new)
    error = refused(session, courses)
    messages = fields_at(error, where)
    assert field in messages, f"{field} not in {messages}"
    assert any(words in message for message in messages[field]), messages[field]


@pytest.mark.parametrize(
    ("missing", "words"),
    [
        ("cites-basics/es/authorities.md", "es is listed in `languages`"),
        ("cites-basics/fr/appendices.quiz.toml", "fr is listed in `languages`"),
        ("customs-checks/en/inspecting-a-shipment.md", "English is required"),
        ("customs-checks/en/reading-a-permit.quiz.toml", "gives 'reading-a-permit' a quiz"),
        ("cites-basics/course.toml", "needs a course.toml"),
    ],
)
def test_a_missing_file_is_named(session, courses, missing, words):
    courses.remove(missing)
    error = refused(session, courses)
    assert any(words in message for message in fields_at(error, missing)["file"])


@pytest.mark.parametrize(
    ("rel", "text", "field", "words"),
    [
        ("cites-basics/fr/appendix.md", "# Annexes\n\nTexte.\n", "file", "'appendix' is not a module of this course"),
        ("cites-basics/en/authorities.quiz.toml", '[[questions]]\nid = "q1"\ntext = "?"\nchoices = []\n', "file", "no quiz"),
        ("cites-basics/en/notes.txt", "draft\n", "file", "Unexpected file"),
        ("cites-basics/README.md", "notes\n", "file", "Unexpected file"),
        ("cites-basics/French/appendices.md", "# Annexes\n\nTexte.\n", "folder", "Not a language folder"),
    ],
)
def test_an_unexpected_file_is_named(session, courses, rel, text, field, words):
    courses.write(rel, text)
    error = refused(session, courses)
    where = rel if field == "file" else rel.rsplit("/", 1)[0]
    assert any(words in message for message in fields_at(error, where)[field])


def test_a_module_file_needs_its_title_heading(session, courses):
    courses.write("cites-basics/fr/authorities.md", "\nOrganes de gestion\n==================\n\nTexte.\n")
    courses.write("customs-checks/en/reading-a-permit.md", "# Reading a permit\n\n\n")
    error = refused(session, courses)
    assert "level-one heading" in fields_at(error, "cites-basics/fr/authorities.md:2")["title"][0]
    assert "lesson is missing" in fields_at(error, "customs-checks/en/reading-a-permit.md:2")["content"][0]


def test_a_file_not_in_utf8_is_named_with_its_line(session, courses):
    (courses / "cites-basics/fr/authorities.md").write_bytes("# Organes\n\nD\xe9l\xe9gation\n".encode("latin-1"))
    error = refused(session, courses)
    assert "Not UTF-8" in fields_at(error, "cites-basics/fr/authorities.md:3")["encoding"][0]


@pytest.mark.parametrize("name", ["CITES_Basics", "intro--cites", "coverage"])
def test_a_bad_folder_name_is_refused_as_a_slug(session, courses, name):
    (courses / "cites-basics").rename(courses / name)
    for course in ("customs-checks", "ndf-workshop"):
        courses.edit(f"{course}/course.toml", 'prerequisites = ["cites-basics"]', "prerequisites = []")
    error = refused(session, courses)
    assert list(fields_at(error, name)) == ["slug"]


def test_the_competency_list_is_checked(session, courses):
    courses.edit("competencies.toml", 'id = "legislation"', 'id = "legislation"\nid = "law"')
    error = refused(session, courses)
    line = courses.line_of("competencies.toml", 'id = "law"')
    assert "syntax" in fields_at(error, f"competencies.toml:{line}")


def test_a_competency_without_english_title(session, courses):
    courses.edit("competencies.toml", 'en = "Legislation"\n', "")
    error = refused(session, courses)
    assert "competency[legislation].en" in fields_at(error, "competencies.toml")


def test_every_error_is_reported_not_only_the_first(session, courses):
    courses.edit(BASICS, 'delivery = "online"', 'delivery = "webinar"')
    courses.edit(CUSTOMS, 'prerequisites = ["cites-basics"]', 'prerequisites = ["nowhere"]')
    courses.remove("ndf-workshop/es/case-studies.md")
    courses.edit(CUSTOMS_QUIZ, "correct = true", "correct = false")
    error = refused(session, courses)
    assert {p.file for p in error.problems} == {BASICS, CUSTOMS, "ndf-workshop/es/case-studies.md", CUSTOMS_QUIZ}
    assert "4 error(s)" in error.detail


def test_an_empty_or_missing_folder_is_refused(session, tmp_path, courses):
    for course in ("cites-basics", "customs-checks", "ndf-workshop"):
        courses.remove(course)
    error = refused(session, courses)
    assert "would retire every course" in fields_at(error, ".")["folder"][0]
    with pytest.raises(CatalogueInvalid):
        read_catalogue(tmp_path / "nowhere")
    courses.remove("competencies.toml")
    with pytest.raises(CatalogueInvalid) as caught:
        read_catalogue(courses.root)
    assert "competencies.toml" in caught.value.errors
