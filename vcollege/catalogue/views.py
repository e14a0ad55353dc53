"""Catalogue pages: the public catalogue with its filters, a course's page, and the
Secretariat's translation coverage matrix.

Course texts are shown in the reader's language (their preferred language when they have
one, else the interface language) when the course has them, else in English with a notice.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from flask import Blueprint, current_app, render_template, request
from flask_babel import format_decimal, get_locale
from flask_babel import lazy_gettext as _l

from vcollege.auth import current_actor, require_permission
from vcollege.catalogue.models import Access, Delivery
from vcollege.catalogue.schemas import CourseFilterSchema, CourseVersionArgsSchema
from vcollege.catalogue.service import (
    CATALOGUE_MANAGE,
    CatalogueInvalid,
    Coverage,
    completion_rule,
    course_titles,
    coverage,
    get_version,
    list_courses,
    localized,
    module_in,
    read_competencies,
)
from vcollege.core.models import Agency
from vcollege.errors import InvalidInput
from vcollege.extensions import db
from vcollege.web.navigation import NavItem, add_nav_item

log = logging.getLogger(__name__)

bp = Blueprint("catalogue", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/catalogue")

add_nav_item(NavItem(_l("Catalogue"), "catalogue.courses", order=10))

DELIVERY_LABELS = {
    Delivery.ONLINE: _l("Online"),
    Delivery.IN_PERSON: _l("In person"),
    Delivery.BLENDED: _l("Blended (online and in person)"),
}
ACCESS_LABELS = {
    Access.OPEN: _l("Open to all"),
    Access.AUTHORITIES: _l("Restricted to officials of CITES authorities"),
}
COVERAGE_LABELS = {
    Coverage.COMPLETE: _l("Complete"),
    Coverage.PARTIAL: _l("Partial"),
    Coverage.MISSING: _l("Missing"),
}


def interface_language() -> str:
    return str(get_locale() or current_app.config["LANGUAGES"][0])


def content_language() -> str:
    """The language to show course texts in: the reader's preferred one (which may be a
    language the interface lacks, such as Portuguese), else the interface language."""
    person = current_actor().person
    if person is not None and person.preferred_language:
        return person.preferred_language
    return interface_language()


@bp.app_template_global()
def delivery_label(delivery) -> str:
    return str(DELIVERY_LABELS.get(Delivery(delivery), delivery))


@bp.app_template_global()
def access_label(access) -> str:
    return str(ACCESS_LABELS.get(Access(access), access))


@bp.app_template_global()
def coverage_label(state) -> str:
    return str(COVERAGE_LABELS.get(Coverage(state), state))


@bp.app_template_filter("number")
def number_filter(value) -> str:
    """6 -> "6", 2.50 -> "2.5" ("2,5" in French)."""
    return format_decimal(float(value))


@bp.app_template_global()
def language_name(code: str, sentence: bool = False) -> str:
    """The name of a language in the interface language: "Portugais" in a list, or, in a
    sentence, as the language writes it there ("en portugais", "in Portuguese")."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(interface_language())
    except (ValueError, UnknownLocaleError):
        return code
    if not name:
        return code
    return name if sentence else name[:1].upper() + name[1:]


@lru_cache(maxsize=4)
def _competency_titles(path: str, mtime: float) -> dict[str, dict[str, str]]:
    return {c.id: c.titles for c in read_competencies(Path(path))}


def competency_titles() -> dict[str, dict[str, str]]:
    """The competency areas of the catalogue folder, by id (empty if the file is unreadable)."""
    root = Path(current_app.config["COURSES_DIR"])
    try:
        return _competency_titles(str(root), (root / "competencies.toml").stat().st_mtime)
    except (OSError, CatalogueInvalid):
        log.warning("competencies.toml in %s is missing or invalid; showing competency ids", root)
        return {}


@bp.app_template_global()
def competency_label(ident: str) -> str:
    return localized(competency_titles().get(ident), content_language())[1] or ident



@bp.get("/catalogue")
def courses():
    filters = InvalidInput.load(CourseFilterSchema(), request.args.to_dict())
    lang = content_language()
    everything = list_courses(db.session)
    shown = list_courses(db.session, **filters) if filters else everything
    cards = []
    for version in shown:
        title_lang, title = localized(version.title, lang)
        summary_lang, summary = localized(version.summary, lang)
        cards.append({
            "version": version, "title": title, "title_lang": title_lang,
            "summary": summary, "summary_lang": summary_lang,
            "minutes": sum(m.minutes for m in version.modules),
        })
    cards.sort(key=lambda card: card["title"].casefold())
    languages = sorted({code for v in everything for code in v.languages}, key=lambda c: (c not in ("en", "fr", "es"), c))
    competencies = competency_titles()
    used = {ident for v in everything for ident in v.competencies}
    options = {
        "languages": languages,
        "audiences": [a.value for a in Agency],
        "competencies": [ident for ident in competencies if ident in used] + sorted(used - set(competencies)),
        "deliveries": [d.value for d in Delivery],
    }
    current = {k: str(v) for k, v in filters.items()}
    return render_template("catalogue/courses.html", cards=cards, filters=current, options=options,
                           lang=lang, total=len(everything))


@bp.get("/catalogue/coverage")
@require_permission(CATALOGUE_MANAGE)
def coverage_matrix():
    matrix = coverage(db.session)
    lang = content_language()
    titles = {row.slug: localized(row.title, lang) for row in matrix.rows}
    return render_template("catalogue/coverage.html", matrix=matrix, titles=titles)


@bp.get("/catalogue/<slug>")
def course(slug: str):
    number = InvalidInput.load(CourseVersionArgsSchema(), request.args.to_dict())["version"]
    version = get_version(db.session, slug, number)
    lang = content_language()
    title_lang, title = localized(version.title, lang)
    summary_lang, summary = localized(version.summary, lang)
    modules = []
    for module in version.modules:
        module_lang, module_title, _text = module_in(module, lang)
        modules.append({"module": module, "title": module_title, "lang": module_lang})
    rule = completion_rule(version)
    prerequisite_titles = course_titles(db.session, version.prerequisites)
    prerequisites = [
        {"slug": slug_, "title": localized(prerequisite_titles.get(slug_), lang)[1] or slug_,
         "lang": localized(prerequisite_titles.get(slug_), lang)[0], "known": slug_ in prerequisite_titles}
        for slug_ in version.prerequisites
    ]
    return render_template(
        "catalogue/course.html", version=version, course=version.course, lang=lang,
        title=title, title_lang=title_lang, summary=summary, summary_lang=summary_lang,
        modules=modules, prerequisites=prerequisites, rule=rule,
        required_numbers=[n for n, m in enumerate(version.modules, start=1) if m.key in rule.modules],
        minutes=sum(m.minutes for m in version.modules), notice=_fallback_notice(lang, title_lang, modules),
    )


def _fallback_notice(lang: str, title_lang: str, modules: list[dict]) -> str | None:
    """"course" when the course is not in the reader's language at all, "modules" when only
    some of its modules are; None when everything is in their language."""
    wanted = {lang, lang.split("-")[0]}
    if title_lang not in wanted:
        return "course"
    if any(m["lang"] not in wanted for m in modules):
        return "modules"
    return None
