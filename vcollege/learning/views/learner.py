"""The learner's home and the course player."""

from __future__ import annotations

from flask import (
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from vcollege.auth import current_actor, require_sign_in
from vcollege.catalogue.service import get_version, localized, module_in, quiz_in
from vcollege.errors import InvalidInput, NotFound
from vcollege.extensions import db, utcnow
from vcollege.learning.content import available_languages, module_view, same_language
from vcollege.learning.enrolments import (
    get_own_enrolment,
    list_own_enrolments,
    move_to_version,
)
from vcollege.learning.models import Enrolment
from vcollege.learning.present import CONTENT_LANGUAGE, content_language, continue_key
from vcollege.learning.progress import (
    PrerequisitesMissing,
    mark_read,
    missing_prerequisites,
    open_module,
    submit_quiz,
)
from vcollege.learning.rules import answers_revealed, course_state, feedback, grade
from vcollege.learning.views import HOME_SECTIONS, _person, bp  # noqa: F401


@bp.get("/learn")
@require_sign_in
def home():
    person = _person()
    lang = content_language(person)
    rows = []
    for enrolment in list_own_enrolments(db.session, person):
        state = course_state(enrolment)
        rows.append({
            "enrolment": enrolment, "state": state, "title": localized(enrolment.version.title, lang),
            "continue": continue_key(enrolment, state), "completion": enrolment.completion,
        })
    sections = [(template, context(person)) for template, context in HOME_SECTIONS]
    return render_template("learning/home.html", rows=rows, lang=lang, sections=sections)


# The player -------------------------------------------------------------------------------


def _choose_language() -> str | None:
    chosen = request.args.get("lang")
    if chosen:
        if not all(part.isalnum() for part in chosen.split("-")) or len(chosen) > 12:
            raise InvalidInput("Not a language code.", errors={"lang": ["Not a language code."]})
        session[CONTENT_LANGUAGE] = chosen
    return chosen


def _player_context(enrolment: Enrolment, lang: str) -> dict:
    version = enrolment.version
    state = course_state(enrolment)
    title_lang, title = localized(version.title, lang)
    languages = available_languages(version)
    complete = [code for code, full in languages if full]
    return {
        "enrolment": enrolment, "version": version, "course": enrolment.course, "state": state, "lang": lang,
        "title": title, "title_lang": title_lang, "languages": languages,
        "course_fallback": not any(same_language(lang, code) for code in complete),
        "missing": missing_prerequisites(db.session, enrolment) if enrolment.completion is None else [],
        "continue_key": continue_key(enrolment, state),
        "newer": (enrolment.course.current_version
                  if enrolment.course.current_version_id not in (None, version.id) else None),
    }


def _neighbours(enrolment: Enrolment, key: str) -> dict:
    """The module's place in its version: `number` of `count`, the `previous` and `next` keys."""
    keys = [m.key for m in enrolment.version.modules]
    index = keys.index(key)
    return {"number": index + 1, "count": len(keys), "previous": keys[index - 1] if index > 0 else None,
            "next": keys[index + 1] if index + 1 < len(keys) else None}


def _prerequisite_titles(slugs: list[str], lang: str) -> list[dict]:
    from vcollege.catalogue.service import course_titles

    titles = course_titles(db.session, slugs)
    return [{"slug": s, "title": localized(titles.get(s), lang)[1] or s} for s in slugs]


@bp.get("/learn/<slug>")
@require_sign_in
def course(slug: str):
    person = _person()
    enrolment = get_own_enrolment(db.session, current_actor(), slug)
    lang = content_language(person, _choose_language())
    context = _player_context(enrolment, lang)
    modules = []
    for state in context["state"].modules:
        shown_in, title, _markdown = module_in(state.module, lang)  # titles only: nothing rendered
        modules.append({"state": state, "title": title, "lang": shown_in})
    return render_template("learning/course.html", modules=modules,
                           prerequisites=_prerequisite_titles(context["missing"], lang), **context)


@bp.get("/learn/<slug>/modules/<key>")
@require_sign_in
def module(slug: str, key: str):
    actor = current_actor()
    enrolment = get_own_enrolment(db.session, actor, slug)
    lang = content_language(actor.person, _choose_language())
    try:
        found = open_module(db.session, enrolment, key, actor=actor, now=utcnow())
    except PrerequisitesMissing:
        db.session.rollback()
        flash(_("Complete the prerequisite courses before you start this one."), "error")
        return redirect(url_for("learning.course", slug=slug))
    db.session.commit()
    context = _player_context(enrolment, lang)
    return render_template(
        "learning/module.html", view=module_view(found, lang), module_state=context["state"].module(found.key),
        errors={}, answers={}, **_neighbours(enrolment, found.key), **context,
    )


@bp.post("/learn/<slug>/modules/<key>/read")
@require_sign_in
def read(slug: str, key: str):
    actor = current_actor()
    enrolment = get_own_enrolment(db.session, actor, slug)
    outcome = mark_read(db.session, enrolment, key, actor=actor, now=utcnow())
    db.session.commit()
    if outcome.completion is not None:
        flash(_("Congratulations: you have completed the course."), "success")
        return redirect(url_for("learning.course", slug=slug))
    following = continue_key(enrolment, outcome.state)
    if following and following != key:
        return redirect(url_for("learning.module", slug=slug, key=following))
    return redirect(url_for("learning.course", slug=slug))


@bp.post("/learn/<slug>/modules/<key>/quiz")
@require_sign_in
def quiz(slug: str, key: str):
    actor = current_actor()
    enrolment = get_own_enrolment(db.session, actor, slug)
    language = request.form.get("language") or content_language(actor.person)
    answers = {name[2:]: request.form.getlist(name) for name in request.form if name.startswith("q-")}
    try:
        outcome = submit_quiz(db.session, enrolment, key, answers, language=language, actor=actor, now=utcnow())
    except InvalidInput as error:
        db.session.rollback()
        lang = content_language(actor.person)
        context = _player_context(enrolment, lang)
        found = next(m for m in enrolment.version.modules if m.key == key)
        return render_template(
            "learning/module.html", view=module_view(found, lang), module_state=context["state"].module(key),
            errors=error.errors, answers=answers, **_neighbours(enrolment, key), **context,
        ), 422
    db.session.commit()
    if outcome.completion is not None:
        flash(_("Congratulations: you have completed the course."), "success")
    return redirect(url_for("learning.attempt", slug=slug, key=key, number=outcome.attempt.number))


@bp.get("/learn/<slug>/modules/<key>/attempts/<int:number>")
@require_sign_in
def attempt(slug: str, key: str, number: int):
    actor = current_actor()
    enrolment = get_own_enrolment(db.session, actor, slug)
    found = next((m for m in enrolment.version.modules if m.key == key), None)
    if found is None:
        raise NotFound(f"The course has no module {key!r}.")
    row = next((a for a in enrolment.attempts if a.module_id == found.id and a.number == number), None)
    if row is None:
        raise NotFound(f"No attempt {number} at this quiz.")
    _lang, questions = quiz_in(found, row.language)
    lang = content_language(actor.person)
    context = _player_context(enrolment, lang)
    module_state = context["state"].module(key)
    revealed = answers_revealed(enrolment, module_state)
    return render_template(
        "learning/attempt.html", attempt=row, questions=feedback(grade(questions, row.answers), revealed),
        revealed=revealed, found=found, module_state=module_state, module_title=module_view(found, row.language).title,
        next=_neighbours(enrolment, key)["next"], **context,
    )


@bp.post("/learn/<slug>/move")
@require_sign_in
def move(slug: str):
    actor = current_actor()
    enrolment = get_own_enrolment(db.session, actor, slug)
    move_to_version(db.session, enrolment, get_version(db.session, slug), actor=actor, now=utcnow())
    db.session.commit()
    flash(_("You now follow version %(number)d of the course.", number=enrolment.version.number), "success")
    return redirect(url_for("learning.course", slug=slug))


# Certificates and badges ------------------------------------------------------------------

