"""Translation coverage: for each course and language, is the course complete, partial or
missing in that language?

- complete: the title, the summary, every module and every quiz exist in the language;
- partial: some of them do (a title and summary only, or some modules);
- missing: none of them.

The matrix is computed from versions in the database (`coverage`) or from the files before a
sync (`coverage_of(read_catalogue(path).courses)`): both have the same attributes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from vcollege.catalogue.courses import WORKING_LANGUAGES, list_courses


class Coverage(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    MISSING = "missing"


@dataclass(frozen=True)
class CoverageCell:
    state: Coverage
    title: bool
    summary: bool
    modules: int  # modules with their text in the language
    quizzes: int  # quizzes in the language


@dataclass(frozen=True)
class CoverageRow:
    slug: str
    title: dict[str, str]
    version: int | None
    modules: int
    quizzes: int
    cells: dict[str, CoverageCell]


@dataclass(frozen=True)
class CoverageMatrix:
    languages: list[str]  # the working languages first, then the others found
    rows: list[CoverageRow]

    def courses_in(self, state: Coverage, language: str) -> list[str]:
        """The slugs of the courses in `state` for `language`."""
        return [row.slug for row in self.rows if row.cells[language].state == state]

    def count(self, state: Coverage, language: str) -> int:
        return len(self.courses_in(state, language))


def _cell(course: Any, language: str) -> CoverageCell:
    modules = list(course.modules)
    with_quiz = [m for m in modules if m.quiz]
    title = language in course.title
    summary = language in course.summary
    texts = sum(1 for m in modules if language in m.content)
    quizzes = sum(1 for m in with_quiz if language in m.quiz)
    if title and summary and texts == len(modules) and quizzes == len(with_quiz):
        state = Coverage.COMPLETE
    elif title or summary or texts or quizzes:
        state = Coverage.PARTIAL
    else:
        state = Coverage.MISSING
    return CoverageCell(state, title, summary, texts, quizzes)


def _languages_of(course: Any) -> set[str]:
    found = set(course.title) | set(course.summary)
    for module in course.modules:
        found |= set(module.content)
        found |= set(module.quiz or {})
    return found


def coverage_of(courses: Iterable[Any]) -> CoverageMatrix:
    """The matrix of these versions (or specs read from files), in the order given."""
    courses = list(courses)
    found: set[str] = set()
    for course in courses:
        found |= _languages_of(course)
    languages = [*WORKING_LANGUAGES, *sorted(found - set(WORKING_LANGUAGES))]
    rows = [
        CoverageRow(
            slug=course.slug,
            title=dict(course.title),
            version=getattr(course, "number", None),
            modules=len(course.modules),
            quizzes=sum(1 for m in course.modules if m.quiz),
            cells={language: _cell(course, language) for language in languages},
        )
        for course in courses
    ]
    return CoverageMatrix(languages, rows)


def coverage(session: Session, *, include_retired: bool = False) -> CoverageMatrix:
    """The matrix of the current versions of the catalogue's courses."""
    return coverage_of(list_courses(session, include_retired=include_retired))
