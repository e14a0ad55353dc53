"""Learning pages: the learner's home, the course player (course, module, quiz result), the
certificate and badge downloads, the public verification page and the issuer's published
documents, the trainers' pages (learners of a course, enrol, roster, waive, withdraw) and
the Secretariat's revocation page.

The player works inside an LMS iframe: every form posts to this site, nothing needs a new
window, and links in course texts open outside the frame.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale, format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import func, select

from vcollege.auth import current_actor, require_permission, require_sign_in
from vcollege.catalogue.models import Course, CourseStatus
from vcollege.catalogue.service import get_course, get_version, localized, quiz_in
from vcollege.core.people import find_people_by_email
from vcollege.errors import Forbidden, InvalidInput, NotFound, VCollegeError
from vcollege.extensions import db, utcnow
from vcollege.learning.certificates import CertificateText, render_certificate
from vcollege.learning.content import available_languages, module_view, same_language
from vcollege.learning.credentials import (
    achievement,
    badge_credential,
    get_credential,
    issuer_profile,
    normalise_code,
    public_key,
    revoke_credential,
    signed_badge,
)
from vcollege.learning.enrolments import (
    enrol_learner,
    enrol_roster,
    find_enrolment,
    get_enrolment,
    get_own_enrolment,
    list_course_enrolments,
    list_own_enrolments,
    move_to_version,
    withdraw,
)
from vcollege.learning.models import Enrolment, EnrolmentSource, EnrolmentStatus, QuizAttempt
from vcollege.learning.permissions import (
    COMPLETIONS_READ,
    CREDENTIALS_REVOKE,
    ENROLMENTS_MANAGE,
    ENROLMENTS_READ,
)
from vcollege.learning.present import CONTENT_LANGUAGE, content_language, continue_key, issuer_urls
from vcollege.learning.progress import (
    PrerequisitesMissing,
    mark_read,
    missing_prerequisites,
    open_module,
    submit_quiz,
    waive_course,
    waive_module,
)
from vcollege.learning.rules import course_state, grade
from vcollege.learning.schemas import RevokeBodySchema, WaiverBodySchema, WithdrawBodySchema
from vcollege.web.navigation import NavItem, add_nav_item
from vcollege.web.views import form_data

bp = Blueprint("learning", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/learning")

add_nav_item(NavItem(_l("My learning"), "learning.home", "signed-in", order=20))
add_nav_item(NavItem(_l("Teaching"), "learning.teach_courses", ENROLMENTS_READ, order=30))
add_nav_item(NavItem(_l("Credentials"), "learning.credential_admin", CREDENTIALS_REVOKE, order=78))

# Sections other areas add to the learner's home (scholarships: "my applications"):
# (template name, function(person) -> context dict).
HOME_SECTIONS: list[tuple[str, object]] = []

STATUS_LABELS = {
    EnrolmentStatus.ACTIVE: _l("In progress"),
    EnrolmentStatus.COMPLETED: _l("Completed"),
    EnrolmentStatus.WITHDRAWN: _l("Withdrawn"),
    EnrolmentStatus.EXPIRED: _l("Expired"),
}


@bp.app_template_global()
def enrolment_status_label(status) -> str:
    return str(STATUS_LABELS.get(EnrolmentStatus(status), status))


@bp.app_template_global()
def language_autonym(code: str) -> str:
    """A language named in itself (`fr` -> "Français"), as a language switcher shows it."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:] if name else code


@bp.app_template_filter("score")
def score_filter(value) -> str:
    return "—" if value is None else f"{format_decimal(round(float(value), 1))} %"


def _load(schema, data) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(exc) from None


def _person():
    return current_actor().person


# The learner's home -----------------------------------------------------------------------


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
        shown = module_view(state.module, lang)
        modules.append({"state": state, "title": shown.title, "lang": shown.language})
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
    view = module_view(found, lang)
    keys = [m.key for m in enrolment.version.modules]
    index = keys.index(found.key)
    return render_template(
        "learning/module.html", view=view, module_state=context["state"].module(found.key),
        previous=keys[index - 1] if index > 0 else None, next=keys[index + 1] if index + 1 < len(keys) else None,
        number=index + 1, count=len(keys), errors={}, answers={}, **context,
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
        keys = [m.key for m in enrolment.version.modules]
        index = keys.index(key)
        return render_template(
            "learning/module.html", view=module_view(found, lang), module_state=context["state"].module(key),
            previous=keys[index - 1] if index > 0 else None, next=keys[index + 1] if index + 1 < len(keys) else None,
            number=index + 1, count=len(keys), errors=error.errors, answers=answers, **context,
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
    row = db.session.scalar(select(QuizAttempt).where(
        QuizAttempt.enrolment_id == enrolment.id, QuizAttempt.module_id == found.id, QuizAttempt.number == number))
    if row is None:
        raise NotFound(f"No attempt {number} at this quiz.")
    _lang, questions = quiz_in(found, row.language)
    result = grade(questions, row.answers)
    lang = content_language(actor.person)
    context = _player_context(enrolment, lang)
    keys = [m.key for m in enrolment.version.modules]
    index = keys.index(key)
    return render_template(
        "learning/attempt.html", attempt=row, result=result, found=found, module_state=context["state"].module(key),
        module_title=module_view(found, row.language).title,
        next=keys[index + 1] if index + 1 < len(keys) else None, **context,
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


def _own_credential(code: str):
    credential = get_credential(db.session, code)
    actor = current_actor()
    if credential.completion.person_id != actor.person_id and not actor.can(COMPLETIONS_READ):
        raise NotFound("No certificate has this verification code.")
    return credential


def certificate_text(credential, *, revoked_note: str | None = None) -> CertificateText:
    """The texts of a certificate in the learner's language (the interface's when not offered)."""
    completion = credential.completion
    version = completion.course_version
    language = completion.person.preferred_language or completion.language or "en"
    interface = language.split("-")[0] if language.split("-")[0] in current_app.config["LANGUAGES"] else "en"
    with force_locale(interface):
        hours = format_decimal(float(version.hours))
        if completion.waived:
            result = _("Completed by waiver of the whole course")
        else:
            result = _("Final score: %(score)s%%", score=format_decimal(completion.score))
        waived_note = None
        if completion.waived_modules and not completion.waived:
            waived_note = _("Modules waived by a trainer: %(modules)s", modules=", ".join(completion.waived_modules))
        return CertificateText(
            college=_("CITES Virtual College"), heading=_("Certificate of completion"),
            certifies=_("This certifies that"), name=completion.person.name,
            completed=_("has completed the course"), course_title=localized(version.title, language)[1],
            details=_("on %(day)s · %(hours)s hours of study · version %(version)d", day=format_date(completion.completed_at),
                      hours=hours, version=version.number),
            result=result, waived_note=waived_note, code_label=_("Verification code"), code=credential.code,
            verify_label=_("Check this certificate at:"), verify_url=issuer_urls().verify(credential.code),
            revoked_note=revoked_note, language=interface,
        )


@bp.get("/learn/certificates/<code>.pdf")
@require_sign_in
def certificate(code: str):
    credential = _own_credential(code)
    if credential.revoked:
        raise Forbidden(_("This certificate was revoked on %(day)s.", day=format_date(credential.revoked_at)))
    pdf = render_certificate(certificate_text(credential))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="certificate-{credential.code}.pdf"',
        "Cache-Control": "private, no-store",
    })


@bp.get("/learn/badges/<code>.jwt")
@require_sign_in
def badge(code: str):
    credential = _own_credential(code)
    token = signed_badge(db.session, credential.completion, issuer_urls(), now=utcnow())
    db.session.commit()  # the first credential key is made on first use
    return Response(token, mimetype="application/vc+jwt", headers={
        "Content-Disposition": f'attachment; filename="open-badge-{credential.code}.jwt"',
        "Cache-Control": "private, no-store",
    })


@bp.get("/learn/badges/<code>.json")
@require_sign_in
def badge_json(code: str):
    credential = _own_credential(code)
    response = jsonify(badge_credential(credential.completion, issuer_urls()))
    response.mimetype = "application/ld+json"
    return response


# Public verification and the issuer's documents -------------------------------------------


@bp.get("/verify")
def verify_form():
    code = request.args.get("code", "")
    if code:
        normal = normalise_code(code)
        if normal:
            return redirect(url_for("learning.verify", code=normal))
        return render_template("learning/verify_form.html", code=code,
                               errors={"code": [_("A verification code has 12 letters and digits, such as 7KQ2-MX9D-4HTR.")]}), 422
    return render_template("learning/verify_form.html", code="", errors={})


@bp.get("/verify/<code>")
def verify(code: str):
    normal = normalise_code(code)
    if normal and normal != code:
        return redirect(url_for("learning.verify", code=normal))
    try:
        credential = get_credential(db.session, code)
    except NotFound:
        return render_template("learning/verify.html", credential=None, code=code), 404
    completion = credential.completion
    language = completion.person.preferred_language or "en"
    return render_template(
        "learning/verify.html", credential=credential, completion=completion, code=credential.code,
        title=localized(completion.course_version.title, language),
    )


def _json_ld(document: dict) -> Response:
    response = jsonify(document)
    response.mimetype = "application/ld+json"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/credentials/issuer")
def issuer():
    return _json_ld(issuer_profile(issuer_urls()))


@bp.get("/credentials/jwks.json")
def jwks():
    from vcollege.core.keys import published_jwks
    from vcollege.core.models import KeyPurpose

    document = published_jwks(db.session, KeyPurpose.CREDENTIALS, utcnow())
    db.session.commit()  # the first key is made on first use
    response = jsonify(document)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/credentials/keys/<kid>")
def key(kid: str):
    response = jsonify(public_key(db.session, kid, now=utcnow()))
    response.mimetype = "application/jwk+json"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/credentials/achievements/<slug>/<int:number>")
def achievement_document(slug: str, number: int):
    version = get_version(db.session, slug, number)
    return _json_ld({"@context": ["https://www.w3.org/ns/credentials/v2",
                                  "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
                     **achievement(version, issuer_urls())})


# Trainers ---------------------------------------------------------------------------------


@bp.get("/teach")
@require_permission(ENROLMENTS_READ)
def teach_courses():
    lang = content_language(_person())
    counts = {
        (course_id, status): number for course_id, status, number in db.session.execute(
            select(Enrolment.course_id, Enrolment.status, func.count(Enrolment.id))
            .group_by(Enrolment.course_id, Enrolment.status))
    }
    rows = []
    for found in db.session.scalars(select(Course).where(Course.current_version_id.is_not(None)).order_by(Course.slug)):
        version = found.current_version
        rows.append({
            "course": found, "title": localized(version.title, lang),
            "counts": {s: counts.get((found.id, s), 0) for s in EnrolmentStatus},
        })
    rows.sort(key=lambda row: (row["course"].status != CourseStatus.ACTIVE, row["title"][1].casefold()))
    return render_template("learning/teach_courses.html", rows=rows)


def _teach_course_page(slug: str, *, form=None, errors=None, status_code=200):
    found = get_course(db.session, slug)
    lang = content_language(_person())
    status = request.args.get("status") or None
    chosen = EnrolmentStatus(status) if status in {s.value for s in EnrolmentStatus} else None
    rows = []
    for enrolment in list_course_enrolments(db.session, found, status=chosen):
        state = course_state(enrolment)
        rows.append({"enrolment": enrolment, "state": state,
                     "score": enrolment.completion.score if enrolment.completion else state.score})
    title = localized(found.current_version.title, lang) if found.current_version else (found.slug, found.slug)
    return render_template("learning/teach_course.html", course=found, title=title, rows=rows, status=chosen,
                           statuses=list(EnrolmentStatus), form=form or {}, errors=errors or {}), status_code


@bp.get("/teach/<slug>")
@require_permission(ENROLMENTS_READ)
def teach_course(slug: str):
    return _teach_course_page(slug)


@bp.post("/teach/<slug>/enrol")
@require_permission(ENROLMENTS_MANAGE)
def teach_enrol(slug: str):
    actor = current_actor()
    form = form_data()
    email = (form.get("email") or "").strip()
    people = find_people_by_email(db.session, email) if "@" in email else []
    if len(people) != 1:
        message = _("Nobody is known with this e-mail.") if not people else _("Several people have this e-mail.")
        if "@" not in email:
            message = _("Enter an e-mail address.")
        return _teach_course_page(slug, form=form, errors={"email": [message]}, status_code=422)
    person = people[0]
    before = find_enrolment(db.session, person, slug)
    enrol_learner(db.session, person, get_version(db.session, slug), source=EnrolmentSource.TRAINER,
                  actor=actor, now=utcnow())
    db.session.commit()
    if before is not None and before.status == EnrolmentStatus.ACTIVE:
        flash(_("%(name)s was already enrolled.", name=person.name))
    else:
        flash(_("%(name)s is enrolled.", name=person.name), "success")
    return redirect(url_for("learning.teach_course", slug=slug))


@bp.post("/teach/<slug>/roster")
@require_permission(ENROLMENTS_MANAGE)
def teach_roster(slug: str):
    upload = request.files.get("roster")
    if upload is None or not upload.filename:
        return _teach_course_page(slug, errors={"roster": [_("Choose a CSV file.")]}, status_code=422)
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        return _teach_course_page(slug, errors={"roster": [_("The file is not UTF-8 text; save it as CSV UTF-8.")]},
                                  status_code=422)
    try:
        result = enrol_roster(db.session, text, actor=current_actor(), now=utcnow(), default_course=slug)
    except InvalidInput as error:
        db.session.rollback()
        return _teach_course_page(slug, errors={"roster": error.errors.get("file", [error.detail])}, status_code=422)
    db.session.commit()
    flash(_("Roster loaded: %(created)d enrolled, %(existing)d already enrolled.",
            created=len(result.created), existing=len(result.existing)), "success")
    return redirect(url_for("learning.teach_course", slug=slug))


def _enrolment_page(enrolment: Enrolment, *, errors=None, form=None, status_code=200):
    from vcollege.core.audit import AuditFilter, audit_query

    lang = content_language(_person())
    state = course_state(enrolment)
    modules = [{"state": m, "title": module_view(m.module, lang).title} for m in state.modules]
    history = db.session.scalars(audit_query(AuditFilter(target_type="enrolments", target_id=str(enrolment.id))).limit(50)).all()
    return render_template(
        "learning/teach_enrolment.html", enrolment=enrolment, state=state, modules=modules, history=history,
        title=localized(enrolment.version.title, lang), errors=errors or {}, form=form or {},
        missing=missing_prerequisites(db.session, enrolment) if enrolment.completion is None else [],
    ), status_code


@bp.get("/teach/enrolments/<int:enrolment_id>")
@require_permission(ENROLMENTS_READ)
def teach_enrolment(enrolment_id: int):
    return _enrolment_page(get_enrolment(db.session, enrolment_id))


@bp.post("/teach/enrolments/<int:enrolment_id>/waive")
@require_permission(ENROLMENTS_MANAGE)
def teach_waive(enrolment_id: int):
    enrolment = get_enrolment(db.session, enrolment_id)
    form = form_data()
    try:
        data = WaiverBodySchema().load(form)
    except ValidationError as exc:
        return _enrolment_page(enrolment, errors=exc.messages, form=form, status_code=422)
    actor = current_actor()
    try:
        if data["module"]:
            outcome = waive_module(db.session, enrolment, data["module"], reason=data["reason"], actor=actor, now=utcnow())
        else:
            outcome = waive_course(db.session, enrolment, reason=data["reason"], actor=actor, now=utcnow())
    except VCollegeError as error:
        db.session.rollback()
        return _enrolment_page(enrolment, errors=error.errors or {"module": [error.detail]}, form=form, status_code=error.status)
    db.session.commit()
    flash(_("The waiver is recorded.") + (" " + _("The course is completed.") if outcome.completion else ""), "success")
    return redirect(url_for("learning.teach_enrolment", enrolment_id=enrolment.id))


@bp.post("/teach/enrolments/<int:enrolment_id>/withdraw")
@require_permission(ENROLMENTS_MANAGE)
def teach_withdraw(enrolment_id: int):
    enrolment = get_enrolment(db.session, enrolment_id)
    form = form_data()
    try:
        data = WithdrawBodySchema().load(form)
    except ValidationError as exc:
        return _enrolment_page(enrolment, errors={"withdraw_reason": exc.messages.get("reason", [])}, form=form,
                               status_code=422)
    withdraw(db.session, enrolment, reason=data["reason"], actor=current_actor(), now=utcnow())
    db.session.commit()
    flash(_("%(name)s is withdrawn; their history is kept.", name=enrolment.person.name), "success")
    return redirect(url_for("learning.teach_enrolment", enrolment_id=enrolment.id))


# The Secretariat --------------------------------------------------------------------------


@bp.get("/credentials/manage")
@require_permission(CREDENTIALS_REVOKE)
def credential_admin():
    code = request.args.get("code", "").strip()
    credential = None
    errors = {}
    if code:
        try:
            credential = get_credential(db.session, code)
        except NotFound:
            errors = {"code": [_("No certificate has this verification code.")]}
    return render_template("learning/credential_admin.html", code=code, credential=credential, errors=errors,
                           form={}), (404 if errors else 200)


@bp.post("/credentials/manage/<code>/revoke")
@require_permission(CREDENTIALS_REVOKE)
def credential_revoke(code: str):
    credential = get_credential(db.session, code)
    form = form_data()
    try:
        data = RevokeBodySchema().load(form)
    except ValidationError as exc:
        return render_template("learning/credential_admin.html", code=credential.code, credential=credential,
                               errors=exc.messages, form=form), 422
    revoke_credential(db.session, credential, reason=data["reason"], actor=current_actor(), now=utcnow())
    db.session.commit()
    flash(_("The credential %(code)s is revoked.", code=credential.code), "success")
    return redirect(url_for("learning.credential_admin", code=credential.code))
