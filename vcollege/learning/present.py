"""Edge-side helpers shared by the learning pages and API: the content language of this
request, and the plain dicts an enrolment is shown as (with URLs, so only edges call them)."""

from __future__ import annotations

from typing import Any

from flask import current_app, session, url_for

from vcollege.catalogue.service import localized, module_in
from vcollege.learning.content import wanted_language
from vcollege.learning.credentials import IssuerUrls
from vcollege.learning.models import Enrolment
from vcollege.learning.progress import missing_prerequisites
from vcollege.learning.rules import CourseState, course_state, percent

CONTENT_LANGUAGE = "vcollege_content_lang"  # chosen with the player's language switcher
LAUNCH_LOCALE = "vcollege_launch_locale"  # set by the LTI launch (any language code)


def issuer_urls() -> IssuerUrls:
    return IssuerUrls(current_app.config["BASE_URL"])


def content_language(person, chosen: str | None = None) -> str:
    """The learner's content language: chosen now or before in the player, else their
    profile's, else the launch locale (or the language of the launch's interface), else English."""
    from vcollege.web.i18n import SESSION_LANGUAGE

    return wanted_language(
        chosen=chosen or session.get(CONTENT_LANGUAGE),
        profile=getattr(person, "preferred_language", None),
        launch=session.get(LAUNCH_LOCALE) or session.get(SESSION_LANGUAGE),
    )


def continue_key(enrolment: Enrolment, state: CourseState) -> str | None:
    """Where to continue: the module last opened if it is not done, else the first module
    not done after it (then from the start), else the last one opened."""
    keys = [m.module.key for m in state.modules]
    done = {m.module.key for m in state.modules if m.done}
    if not keys:
        return None
    start = keys.index(enrolment.last_module_key) if enrolment.last_module_key in keys else 0
    for key in keys[start:] + keys[:start]:
        if key not in done:
            return key
    return enrolment.last_module_key or keys[0]


def module_dict(state, lang: str) -> dict[str, Any]:
    module = state.module
    shown, title, _text = module_in(module, lang)
    return {
        "key": module.key, "position": module.position, "title": title, "language": shown,
        "minutes": module.minutes, "required": state.required, "read": state.read, "waived": state.waived,
        "done": state.done, "has_quiz": state.has_quiz, "pass_mark": module.pass_mark if state.has_quiz else None,
        "attempts_allowed": module.attempts if state.has_quiz else None, "attempts_used": state.attempts_used,
        "attempts_left": state.attempts_left, "best_score": state.best_percent, "passed": state.passed,
    }


def completion_dict(enrolment: Enrolment) -> dict[str, Any] | None:
    completion = enrolment.completion
    if completion is None:
        return None
    credential = completion.credential
    code = credential.code if credential else None
    usable = credential is not None and not credential.revoked
    return {
        "completed_at": completion.completed_at, "score": completion.score, "waived": completion.waived,
        "waived_modules": list(completion.waived_modules or []), "verification_code": code,
        "verification_url": issuer_urls().verify(code) if code else None,
        "certificate_url": url_for("learning.certificate", code=code, _external=True) if usable else None,
        "badge_url": url_for("learning.badge", code=code, _external=True) if usable else None,
        "revoked_at": credential.revoked_at if credential else None,
    }


def enrolment_dict(db_session, enrolment: Enrolment, lang: str, *, detail: bool = False,
                   missing: list[str] | None = None) -> dict[str, Any]:
    """An enrolment as the API shows it; `missing` prerequisites, when the caller has read
    them for many enrolments at once (`missing_prerequisites_of`), save a query."""
    state = course_state(enrolment)
    if missing is None:
        missing = missing_prerequisites(db_session, enrolment) if enrolment.completion is None else []
    version = enrolment.version
    score = enrolment.completion.score if enrolment.completion else percent(state.score)
    data = {
        "id": enrolment.id, "course": enrolment.course.slug, "title": localized(version.title, lang)[1],
        "version": version.number,
        "current_version": enrolment.course.current_version.number if enrolment.course.current_version else version.number,
        "status": enrolment.status, "source": enrolment.source, "enrolled_at": enrolment.enrolled_at,
        "expires_at": enrolment.expires_at, "progress": state.progress_percent, "score": score,
        "continue_module": continue_key(enrolment, state),
        "missing_prerequisites": missing,
        "completion": completion_dict(enrolment),
    }
    if detail:
        data.update({
            "language": lang, "min_score": state.rule.min_score, "attendance_required": state.attendance_needed,
            "attendance": enrolment.attendance_percent, "modules": [module_dict(m, lang) for m in state.modules],
        })
    return data
