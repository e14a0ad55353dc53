"""Reading the catalogue: courses, their versions, and their texts in a language.

Invariants:
- `get_*` raise NotFound, `find_*` return None; retired courses are still found (those who
  took them keep reading them), lists leave them out unless asked;
- a text is shown in the language asked for when it exists, else in English (the caller
  learns which language it got, to show a notice);
- `public_quiz` is all a learner sees before answering: no correct flags, no explanations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vcollege.catalogue.models import Course, CourseStatus, CourseVersion, Delivery
from vcollege.errors import NotFound

DEFAULT_LANGUAGE = "en"
WORKING_LANGUAGES = ("en", "fr", "es")


def find_course(session: Session, slug: str) -> Course | None:
    return session.scalar(select(Course).where(Course.slug == slug.strip().lower()))


def get_course(session: Session, slug: str) -> Course:
    """The course with this slug, retired or not, or NotFound."""
    course = find_course(session, slug)
    if course is None:
        raise NotFound(f"No course {slug!r}.", errors={"slug": [f"Unknown course {slug!r}."]})
    return course


def get_version(session: Session, slug: str, number: int | None = None) -> CourseVersion:
    """Version `number` of the course (its current version when None), or NotFound."""
    course = get_course(session, slug)
    if number is None:
        if course.current_version is None:  # only while a sync is half-way, in its own transaction
            raise NotFound(f"The course {slug!r} has no version yet.")
        return course.current_version
    version = session.scalar(
        select(CourseVersion).where(CourseVersion.course_id == course.id, CourseVersion.number == number)
    )
    if version is None:
        known = ", ".join(str(v.number) for v in course.versions)
        raise NotFound(f"The course {slug!r} has no version {number} (versions: {known}).",
                       errors={"version": [f"Unknown version {number}."]})
    return version


def list_courses(
    session: Session,
    *,
    language: str | None = None,
    audience: str | None = None,
    competency: str | None = None,
    delivery: Delivery | str | None = None,
    include_retired: bool = False,
) -> list[CourseVersion]:
    """The current versions of the courses matching every filter given, by slug.

    `language` keeps courses complete in it (every module and quiz translated).
    """
    query = (
        select(CourseVersion)
        .join(Course, Course.current_version_id == CourseVersion.id)
        .options(selectinload(CourseVersion.modules), selectinload(CourseVersion.course))
        .order_by(Course.slug)
    )
    if not include_retired:
        query = query.where(Course.status == CourseStatus.ACTIVE)
    # The lists are JSON columns and the catalogue holds dozens of courses: filter here,
    # the same way on SQLite and PostgreSQL.
    versions = []
    for version in session.scalars(query):
        if language and language not in version.languages:
            continue
        if audience and str(audience) not in version.audiences:
            continue
        if competency and competency not in version.competencies:
            continue
        if delivery and version.delivery != Delivery(delivery):
            continue
        versions.append(version)
    return versions


def course_titles(session: Session, slugs: list[str]) -> dict[str, dict[str, str]]:
    """The current titles of the courses named (for prerequisites), by slug; unknown slugs left out."""
    if not slugs:
        return {}
    rows = session.execute(
        select(Course.slug, CourseVersion.title)
        .join(CourseVersion, Course.current_version_id == CourseVersion.id)
        .where(Course.slug.in_(slugs))
    )
    return {slug: title for slug, title in rows}


def _candidates(lang: str | None) -> list[str]:
    lang = (lang or DEFAULT_LANGUAGE).replace("_", "-")
    base = lang.split("-")[0].lower()
    return list(dict.fromkeys([lang, base, DEFAULT_LANGUAGE]))


def localized(mapping: Mapping[str, str] | None, lang: str | None) -> tuple[str, str]:
    """(language used, text): the text in `lang` (or its base language), else in English."""
    mapping = mapping or {}
    for code in _candidates(lang):
        if mapping.get(code):
            return code, mapping[code]
    for code, text in mapping.items():  # no English: never happens in a checked catalogue
        return code, text
    return DEFAULT_LANGUAGE, ""


def module_in(module: Any, lang: str | None) -> tuple[str, str, str]:
    """(language used, title, Markdown) of a module; title and text in the same language."""
    for code in _candidates(lang):
        if code in module.content and code in module.title:
            return code, module.title[code], module.content[code]
    code, title = localized(module.title, DEFAULT_LANGUAGE)
    return code, title, module.content.get(code, "")


def quiz_in(module: Any, lang: str | None) -> tuple[str, list[dict[str, Any]]]:
    """(language used, questions with their answers) of a module's quiz; no quiz: (en, [])."""
    if not module.quiz:
        return DEFAULT_LANGUAGE, []
    for code in _candidates(lang):
        if code in module.quiz:
            return code, module.quiz[code]
    code = next(iter(module.quiz))
    return code, module.quiz[code]


def public_quiz(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The questions as a learner sees them before answering: no `correct`, no explanation.

    `multiple` says whether several choices are correct (the player then shows check boxes,
    and the learner must tick exactly the correct ones).
    """
    return [
        {
            "id": question["id"],
            "text": question["text"],
            "multiple": sum(1 for c in question["choices"] if c.get("correct")) > 1,
            "choices": [{"id": c["id"], "text": c["text"]} for c in question["choices"]],
        }
        for question in questions
    ]


@dataclass(frozen=True)
class CompletionRule:
    """What completes a version: these modules done, their quizzes' average best score at
    least `min_score` percent, and for in-person and blended courses `attendance` percent
    of the sessions attended (None: no attendance rule)."""

    modules: tuple[str, ...]
    min_score: int
    attendance: int | None


def completion_rule(version: Any) -> CompletionRule:
    """The version's completion rule with "all" spelled out as the module keys, in order."""
    rule = version.completion
    keys = tuple(m.key for m in version.modules)
    required = keys if rule["modules"] == "all" else tuple(k for k in keys if k in rule["modules"])
    return CompletionRule(required, int(rule.get("min_score") or 0), rule.get("attendance"))
