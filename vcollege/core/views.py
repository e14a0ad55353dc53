"""Core pages: staff sign-in and sign-out, the Parties, people and roles, the audit log and
the scheduler's state."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import select

from vcollege.api import paginate_query
from vcollege.auth import current_actor, require_permission, safe_next, sign_in, sign_out
from vcollege.core.accounts import authenticate
from vcollege.core.audit import AuditFilter, audit_query
from vcollege.core.models import (
    ComplianceProcedure,
    JobRun,
    Role,
    SchedulerLease,
)
from vcollege.core.parties import (
    end_compliance_case,
    get_compliance_case,
    get_party,
    list_standings,
    open_compliance_case,
    standing,
)
from vcollege.core.people import get_person, grant_role, people_query, revoke_role
from vcollege.core.permissions import (
    AUDIT_READ,
    JOBS_READ,
    PARTIES_MANAGE,
    PARTIES_READ,
    PEOPLE_READ,
    ROLES_GRANT,
)
from vcollege.core.schemas import (
    AuditQueryArgsSchema,
    ComplianceCaseSchema,
    EndComplianceSchema,
    LoginSchema,
    PartyQueryArgsSchema,
    PeopleQueryArgsSchema,
)
from vcollege.errors import InvalidInput
from vcollege.extensions import db, limiter, utcnow
from vcollege.web.navigation import NavItem, add_nav_item
from vcollege.web.views import form_data

bp = Blueprint("core", __name__, template_folder="templates")

add_nav_item(NavItem(_l("Parties"), "core.parties", PARTIES_READ, order=70))
add_nav_item(NavItem(_l("People"), "core.people", PEOPLE_READ, order=75))
add_nav_item(NavItem(_l("Audit log"), "core.audit_log", AUDIT_READ, order=80))
add_nav_item(NavItem(_l("Scheduler"), "core.scheduler_status", JOBS_READ, order=85))


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_account_key() -> str:
    return "login:" + request.form.get("email", "").strip().lower()



@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_account_key)
def login():
    errors: dict[str, list[str]] = {}
    form = {"email": "", "next": request.args.get("next", "")}
    if request.method == "POST":
        form = form_data()
        try:
            data = LoginSchema().load(form)
        except ValidationError as exc:
            errors = exc.messages
        else:
            person = authenticate(db.session, data["email"], data["password"], now=utcnow())
            if person is not None:
                db.session.commit()
                sign_in(person, via="password")
                flash(_("Signed in as %(name)s.", name=person.name))
                return redirect(safe_next(data.get("next")) or url_for("web.home"))
            errors = {"password": [_("The e-mail or the password is wrong.")]}
        return render_template("core/login.html", form=form, errors=errors), 422
    return render_template("core/login.html", form=form, errors=errors)


@bp.post("/logout")
def logout():
    sign_out()
    flash(_("You have signed out."))
    return redirect(url_for("web.home"))


@bp.get("/parties")
@require_permission(PARTIES_READ)
def parties():
    args = InvalidInput.load(PartyQueryArgsSchema(), {k: v for k, v in request.args.items() if v})
    on = args.get("as_of") or utcnow().date()
    rows = list_standings(
        db.session, on=on, window_years=current_app.config["RECENTLY_ACCEDED_YEARS"],
        region=args.get("region"), q=args.get("q"), category=args.get("category"),
    )
    return render_template("core/parties.html", rows=rows, args=args, on=on)


@bp.get("/parties/<iso2>")
@require_permission(PARTIES_READ)
def party(iso2: str):
    today = utcnow().date()
    found = get_party(db.session, iso2)
    return render_template(
        "core/party.html",
        party=standing(found, today, current_app.config["RECENTLY_ACCEDED_YEARS"]),
        procedures=list(ComplianceProcedure),
        form={}, errors={},
    )


@bp.post("/parties/<iso2>/compliance")
@require_permission(PARTIES_MANAGE)
def open_compliance(iso2: str):
    actor = current_actor()
    found = get_party(db.session, iso2)
    try:
        data = ComplianceCaseSchema().load(form_data())
    except ValidationError as exc:
        today = utcnow().date()
        return render_template(
            "core/party.html",
            party=standing(found, today, current_app.config["RECENTLY_ACCEDED_YEARS"]),
            procedures=list(ComplianceProcedure), form=request.form, errors=exc.messages,
        ), 422
    open_compliance_case(db.session, found, actor=actor, now=utcnow(), **data)
    db.session.commit()
    flash(_("%(party)s is marked as under a compliance procedure.", party=found.name))
    return redirect(url_for("core.party", iso2=found.iso2))


@bp.post("/compliance/<int:case_id>/end")
@require_permission(PARTIES_MANAGE)
def end_compliance(case_id: int):
    case = get_compliance_case(db.session, case_id)
    data = InvalidInput.load(EndComplianceSchema(), form_data())
    end_compliance_case(db.session, case, actor=current_actor(), now=utcnow(), **data)
    db.session.commit()
    flash(_("The compliance procedure is closed."))
    return redirect(url_for("core.party", iso2=case.party.iso2))


@bp.get("/people")
@require_permission(PEOPLE_READ)
def people():
    args = InvalidInput.load(PeopleQueryArgsSchema(), request.args.to_dict())
    role, q = args.get("role"), (args.get("q") or "").strip()
    page = paginate_query(db.session, people_query(role=role, q=q), args["page"], 50)
    return render_template("core/people.html", page=page, role=role.value if role else None, q=q, roles=list(Role))


@bp.get("/people/<int:person_id>")
@require_permission(PEOPLE_READ)
def person(person_id: int):
    found = get_person(db.session, person_id)
    history = db.session.scalars(
        audit_query(AuditFilter(target_type="people", target_id=str(found.id))).limit(50)
    ).all() if current_actor().can(AUDIT_READ) else []
    return render_template("core/person.html", person=found, roles=list(Role), history=history)


@bp.post("/people/<int:person_id>/roles")
@require_permission(ROLES_GRANT)
def change_role(person_id: int):
    found = get_person(db.session, person_id)
    role_value = request.form.get("role", "")
    if role_value not in {r.value for r in Role}:
        raise InvalidInput(f"Unknown role {role_value!r}.", errors={"role": ["Unknown role."]})
    reason = (request.form.get("reason") or "").strip()
    if len(reason) < 3:
        raise InvalidInput("Give a reason for the change.", errors={"reason": ["Required."]})
    role = Role(role_value)
    actor = current_actor()
    if request.form.get("action") == "revoke":
        revoke_role(db.session, found, role, actor=actor, now=utcnow(), reason=reason)
        flash(_("Role %(role)s removed.", role=role_label(role)))
    else:
        grant_role(db.session, found, role, actor=actor, now=utcnow(), reason=reason)
        flash(_("Role %(role)s granted.", role=role_label(role)))
    db.session.commit()
    return redirect(url_for("core.person", person_id=found.id))


@bp.get("/audit")
@require_permission(AUDIT_READ)
def audit_log():
    args = InvalidInput.load(AuditQueryArgsSchema(), request.args.to_dict())
    filters = AuditFilter(
        action=args.get("action"), actor=args.get("actor"),
        target_type=args.get("target_type"), target_id=args.get("target_id"),
        since=_day_start(args.get("since")), until=_day_start(args.get("until"), next_day=True),
    )
    page = paginate_query(db.session, audit_query(filters), args["page"], 50)
    keep = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("core/audit.html", page=page, args=keep)


def _day_start(day: dt.date | None, *, next_day: bool = False) -> dt.datetime | None:
    if day is None:
        return None
    if next_day:
        day = day + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


@bp.get("/system/scheduler")
@require_permission(JOBS_READ)
def scheduler_status():
    lease = db.session.get(SchedulerLease, "scheduler")
    runs = db.session.scalars(select(JobRun).order_by(JobRun.started_at.desc()).limit(100)).all()
    return render_template("core/scheduler.html", lease=lease, runs=runs, now=utcnow())


ROLE_LABELS = {Role.LEARNER: _l("Learner"), Role.TRAINER: _l("Trainer"), Role.SECRETARIAT: _l("Secretariat")}


@bp.app_template_global()
def role_label(role) -> str:
    return str(ROLE_LABELS.get(Role(role), role))


CATEGORY_LABELS = {
    "recently_acceded": _l("Recently acceded"),
    "ldc": _l("Least Developed Country"),
    "lldc": _l("Landlocked Developing Country"),
    "sids": _l("Small Island Developing State"),
    "compliance": _l("Compliance procedure"),
}


@bp.app_template_global()
def category_label(category) -> str:
    return str(CATEGORY_LABELS.get(str(category), category))


PROCEDURE_LABELS = {
    ComplianceProcedure.ARTICLE_XIII: _l("Article XIII compliance procedure"),
    ComplianceProcedure.NATIONAL_LEGISLATION: _l("National Legislation Project"),
    ComplianceProcedure.ANNUAL_REPORTS: _l("Annual reports not submitted"),
    ComplianceProcedure.REVIEW_OF_SIGNIFICANT_TRADE: _l("Review of Significant Trade"),
    ComplianceProcedure.NATIONAL_IVORY_ACTION_PLAN: _l("National Ivory Action Plan"),
    ComplianceProcedure.OTHER: _l("Other"),
}


@bp.app_template_global()
def procedure_label(procedure) -> str:
    return str(PROCEDURE_LABELS.get(ComplianceProcedure(procedure), procedure))


AGENCY_LABELS = {
    "management_authority": _l("Management Authority"),
    "scientific_authority": _l("Scientific Authority"),
    "customs": _l("Customs"),
    "enforcement": _l("Police and wildlife enforcement"),
    "judiciary": _l("Judiciary and prosecution"),
    "other": _l("Other"),
}


@bp.app_template_global()
def agency_label(agency) -> str:
    return str(AGENCY_LABELS.get(str(agency), agency)) if agency else ""


@bp.app_template_global()
def party_name(party) -> str:
    """The Party's name in the interface language (Babel's territory names), else English."""
    if party is None:
        return ""
    from flask_babel import get_locale

    locale = get_locale()
    if locale is not None and locale.language != "en":
        return locale.territories.get(party.iso2, party.name)
    return party.name
