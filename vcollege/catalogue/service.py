"""The catalogue's services in one place; each lives in a named module:

- `loader`: reading and checking the `courses/` folder (`read_catalogue`, `competencies`);
- `sync`: loading it into courses, versions and modules (`sync_catalogue`);
- `courses`: reading courses and versions, texts in a language with English fallback,
  quizzes without their answers, completion rules;
- `coverage`: the translation matrix (course x language).
"""

from __future__ import annotations

from pathlib import Path

from vcollege.catalogue.courses import (
    DEFAULT_LANGUAGE,
    WORKING_LANGUAGES,
    CompletionRule,
    completion_rule,
    course_titles,
    find_course,
    get_course,
    get_version,
    list_courses,
    localized,
    module_in,
    public_quiz,
    quiz_in,
)
from vcollege.catalogue.coverage import (
    Coverage,
    CoverageCell,
    CoverageMatrix,
    CoverageRow,
    coverage,
    coverage_of,
)
from vcollege.catalogue.loader import (
    Catalogue,
    CatalogueInvalid,
    Competency,
    CourseSpec,
    ModuleSpec,
    Problem,
    course_folders,
    read_catalogue,
    read_competencies,
)
from vcollege.catalogue.permissions import CATALOGUE_MANAGE, COURSES_READ
from vcollege.catalogue.sync import SyncResult, sync_catalogue


def competencies(courses_dir: Path | str) -> list[Competency]:
    """The competency areas of `courses_dir/competencies.toml` (id and titles by language)."""
    return read_competencies(Path(courses_dir))


__all__ = [
    "CATALOGUE_MANAGE",
    "COURSES_READ",
    "DEFAULT_LANGUAGE",
    "WORKING_LANGUAGES",
    "Catalogue",
    "CatalogueInvalid",
    "Competency",
    "CompletionRule",
    "CourseSpec",
    "Coverage",
    "CoverageCell",
    "CoverageMatrix",
    "CoverageRow",
    "ModuleSpec",
    "Problem",
    "SyncResult",
    "competencies",
    "completion_rule",
    "course_folders",
    "course_titles",
    "coverage",
    "coverage_of",
    "find_course",
    "get_course",
    "get_version",
    "list_courses",
    "localized",
    "module_in",
    "public_quiz",
    "quiz_in",
    "read_catalogue",
    "sync_catalogue",
]
