"""The trainers' pages: a course's learners, enrolment, rosters, waivers, withdrawals."""

from __future__ import annotations

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from vcollege.auth import current_actor, require_permission
from vcollege.catalogue.models import Course, CourseStatus
from vcollege.catalogue.service import get_course, get_version, localized
from vcollege.core.people import find_people_by_email
from vcollege.errors import InvalidInput, VCollegeError
from vcollege.extensions import db, utcnow
from vcollege.learning.content import module_view
from vcollege.learning.enrolments import (
    enrol_learner,
    enrol_roster,
    enrolment_counts,
    find_enrolment,
    get_enrolment,
    list_course_enrolments,
    withdraw,
)
from vcollege.learning.models import Enrolment, EnrolmentSource, EnrolmentStatus
from vcollege.learning.permissions import (
    ENROLMENTS_MANAGE,
    ENROLMENTS_READ,
)
from vcollege.learning.present import content_language
from vcollege.learning.progress import (
    missing_prerequisites,
    waive_course,
    waive_module,
)
from vcollege.learning.rules import course_state
from vcollege.learning.schemas import WaiverBodySchema, WithdrawBodySchema
from vcollege.learning.views import HOME_SECTIONS, _person, bp  # noqa: F401
from vcollege.web.views import form_data


@bp.get("/teach")
@require_permission(ENROLMENTS_READ)
def teach_courses():
    lang = content_language(_person())
    counts = enrolment_counts(db.session)
    rows = []
    courses = db.session.scalars(select(Course).where(Course.current_version_id.is_not(None))
                                 .options(selectinload(Course.current_version)).order_by(Course.slug))
    for found in courses:
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


