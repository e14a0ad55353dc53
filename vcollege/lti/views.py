"""LTI endpoints (login, launch, JWKS, deep linking, registration), the page of an LMS
instructor, and the Secretariat's platform and score pages.

The LTI POST endpoints are exempt from CSRF: the platform posts them cross-site, and they
are protected by the state, nonce and signature checks instead (the deep-linking form by
its unguessable launch id). The storage-path confirmation is posted by the tool's own
launch page: it must be same-origin and carry the value read back from the platform's
storage.

Frames: only the active platforms' own origins and those the Secretariat typed in may frame
the pages (an origin a launch came from is shown as information, never allowed with a
click); they are looked up once per HTML response and never for other answers. Forms
may post to a platform only where one response needs it (the deep-linking return).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import select

from vcollege.auth import current_actor, require_permission, require_sign_in, sign_in
from vcollege.core.models import Role
from vcollege.errors import (
    InvalidInput,
    NotFound,
    VCollegeError,
    problem_response,
    render_error,
    wants_problem_json,
)
from vcollege.extensions import csrf, db, limiter, utcnow
from vcollege.learning.present import LAUNCH_LOCALE
from vcollege.lti import ags, deep_linking, links
from vcollege.lti.claims import DEEP_LINKING_REQUEST, ROLES, TOOL_SCOPES, map_roles
from vcollege.lti.deep_linking import (
    CatalogueFilters,
    answer_deep_link,
    check_deep_linking_launch,
    deep_linking_settings,
)
from vcollege.lti.errors import CookiesBlocked, CrossSiteRequest, StateMismatch
from vcollege.lti.keys import ensure_signing_key, jwks
from vcollege.lti.launches import (
    complete_launch,
    confirm_storage_launch,
    find_launch,
    start_login,
    state_cookie_name,
    storage_key,
    validate_launch,
)
from vcollege.lti.models import AgsOutbox, LtiLaunch, OutboxStatus, PlatformStatus
from vcollege.lti.platforms import (
    LTI_MANAGE,
    LTI_SCORES,
    add_deployment,
    approve_platform,
    disable_platform,
    frame_ancestors,
    get_platform,
    list_platforms,
    note_launch_origin,
    origin_of,
    own_origins,
    register_platform,
    remove_platform,
    set_frame_origins,
    suggested_origin,
)
from vcollege.lti.schemas import (
    DeepLinkArgsSchema,
    DeploymentSchema,
    FrameOriginsSchema,
    PlatformSchema,
)
from vcollege.web.i18n import remember_language
from vcollege.web.navigation import NavItem, add_nav_item
from vcollege.web.security import add_form_actions, add_frame_ancestors
from vcollege.web.views import form_data

bp = Blueprint("lti", __name__, url_prefix="/lti", template_folder="templates",
               static_folder="static", static_url_path="/static")

add_nav_item(NavItem(_l("LMS platforms"), "lti.platforms", LTI_MANAGE, order=88))
add_nav_item(NavItem(_l("LMS scores"), "lti.scores", LTI_SCORES, order=89))

def _login_limit() -> str:
    return current_app.config["LTI_LOGIN_RATE_LIMIT"]  # each login writes a record


def _register_limit() -> str:
    return current_app.config["LTI_REGISTER_RATE_LIMIT"]  # each registration calls a platform


# --- frames ----------------------------------------------------------------------------


def _platform_frame_ancestors() -> list[str]:
    """The active platforms' frame origins, looked up once per request (kept in `g`)."""
    if "lti_frame_ancestors" not in g:
        try:
            g.lti_frame_ancestors = frame_ancestors(db.session)
        except Exception:  # a broken transaction must not turn every answer into a 500
            db.session.rollback()
            g.lti_frame_ancestors = []
    return g.lti_frame_ancestors


def _look_up_frame_ancestors(response: Response) -> Response:
    # Runs before the security headers are written: after-request hooks run in the reverse
    # order of their registration, and the blueprints are registered after the security
    # headers. Only pages can be framed: JSON, files and the development LMS skip the query
    # (so an LMS served by this very app never waits on the tool request that called it).
    if response.mimetype == "text/html" and not request.path.startswith("/dev/lms"):
        _platform_frame_ancestors()
    return response


@bp.record_once
def _register_security(state) -> None:
    add_frame_ancestors(state.app, lambda: g.get("lti_frame_ancestors", []))
    add_form_actions(state.app, lambda: g.get("lti_form_actions", []))
    state.app.after_request(_look_up_frame_ancestors)


def _base_origin() -> str:
    return origin_of(current_app.config["BASE_URL"]) or ""


def _allow_http_origins() -> bool:
    return current_app.config["ENV"] != "production"


# --- login and launch ------------------------------------------------------------------


def _launch_url() -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for("lti.launch")


def _secure() -> bool:
    return bool(current_app.config.get("SESSION_COOKIE_SECURE"))


def _set_state_cookie(response: Response, state: str) -> None:
    # Secure sites: SameSite=None; Secure; Partitioned, so the cookie survives an LMS iframe.
    # Plain HTTP (development): no SameSite attribute, which browsers still send on the
    # top-level cross-site form_post of the launch within two minutes.
    secure = _secure()
    response.set_cookie(state_cookie_name(state), state, max_age=600, path="/lti/", httponly=True,
                        secure=secure, samesite="None" if secure else None, partitioned=secure)


def _clear_state_cookie(response: Response, state: str) -> None:
    secure = _secure()
    response.delete_cookie(state_cookie_name(state), path="/lti/", httponly=True, secure=secure,
                           samesite="None" if secure else None, partitioned=secure)


@bp.get("/jwks")
def jwks_endpoint():
    now = utcnow()
    if ensure_signing_key(db.session, now=now) is not None:
        db.session.commit()
    response = jsonify(jwks(db.session, now=now))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit(_login_limit)
def login():
    params = request.values.to_dict()
    if params.pop("lti1p3_new_window", None):
        params.pop("lti_storage_target", None)  # a new window has no platform frame to talk to
    answer = start_login(db.session, params, launch_url=_launch_url(), now=utcnow(), secure=_secure())
    db.session.commit()
    if answer.storage_target:
        response = make_response(render_template(
            "lti/storage_login.html", answer=answer, target=answer.storage_target, origin=answer.storage_origin,
            key=answer.storage_key, value=answer.storage_value))
        response.headers["Cache-Control"] = "no-store"
    else:
        response = redirect(answer.url)
    _set_state_cookie(response, answer.state)
    return response


@bp.post("/launch")
@csrf.exempt
def launch():
    params = request.form.to_dict()
    try:
        valid = validate_launch(db.session, params, request.cookies.to_dict(), now=utcnow(), secure=_secure())
    except StateMismatch as error:
        return _state_refusal(error, params.get("state"))
    note_launch_origin(valid.platform, request.headers.get("Origin"), now=utcnow(),
                       also_allowed=[_base_origin(), *current_app.config.get("FRAME_ANCESTORS", [])])
    if valid.verified_by == "storage":
        db.session.commit()
        record = valid.record
        # The page names the storage key, never the value: it reads the value back from the
        # platform's storage in this browser, or the launch cannot be confirmed.
        return render_template("lti/storage_launch.html", record=record, target=record.storage_target,
                               key=storage_key(record.state), origin=origin_of(record.platform.auth_login_url),
                               new_window_url=_new_window_url(record))
    response = _finish(valid.record)
    _clear_state_cookie(response, valid.record.state)
    return response


def _require_same_origin() -> None:
    """Refuse a request that one of the tool's own pages did not send: it needs
    `Sec-Fetch-Site: same-origin`, or (browsers without Fetch Metadata) an `Origin` equal to
    BASE_URL's origin; any other value, or neither header, is refused."""
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if site is not None:
        allowed = site == "same-origin"
    else:
        allowed = origin is not None and origin.rstrip("/").lower() == _base_origin()
    if not allowed:
        raise CrossSiteRequest("The launch confirmation must come from the tool's own launch page.",
                               errors={"origin": ["Not the tool's own page."]})


@bp.post("/launch/confirm")
@csrf.exempt  # no session cookie in the frame: same-origin and the storage value stand for it
def confirm_launch():
    _require_same_origin()
    record = confirm_storage_launch(db.session, request.form.get("state", ""), request.form.get("value", ""),
                                    now=utcnow())
    return _finish(record)


def _finish(record: LtiLaunch) -> Response:
    """Apply a verified launch, sign the person in and open what the launch asked for."""
    now = utcnow()
    outcome = complete_launch(db.session, record, languages=current_app.config["LANGUAGES"], now=now)
    db.session.commit()
    sign_in(outcome.person, via=f"lti:{record.platform.issuer}")
    if outcome.language:
        remember_language(outcome.language)
    if outcome.launch_locale:
        session[LAUNCH_LOCALE] = outcome.launch_locale  # course content may exist in it (pt, ru...)
    if record.message_type == DEEP_LINKING_REQUEST:
        return redirect(url_for("lti.deep_link", launch_id=record.launch_id))
    if outcome.refusal is not None:
        return make_response(render_error(outcome.refusal))
    if outcome.course_slug and (outcome.learner or outcome.instructor):
        return redirect(url_for("lti.continue_launch", launch_id=record.launch_id))
    # no course linked yet, or a role (Mentor, Observer...) that neither learns nor teaches
    return make_response(render_template("lti/no_course.html", outcome=outcome))


@bp.get("/continue/<launch_id>")
def continue_launch(launch_id: str):
    """After a launch: open the course (a learner) or the link's learners (an instructor) if
    this browser kept the tool's session cookie in the LMS frame; otherwise (third-party
    cookies blocked) offer it in a new window."""
    record = find_launch(db.session, launch_id, now=utcnow())
    link = record.resource_link
    if link is None or not link.course_slug:
        raise NotFound("This launch opened no course.")
    if current_actor().person_id == record.person_id:
        roles = map_roles((record.launch_data or {}).get(ROLES) or [])
        if Role.LEARNER in roles:
            return redirect(url_for("learning.course", slug=link.course_slug))
        if Role.TRAINER in roles:
            return redirect(url_for("lti.link_learners", link_id=link.id))
        raise NotFound("This launch opened no course for you.")
    # The launch itself succeeded, so this is a page, not an error status.
    return render_template("lti/new_window.html", error=CookiesBlocked(), new_window_url=_new_window_url(record))


def _new_window_url(record: LtiLaunch | None) -> str | None:
    if record is None or not record.login_params:
        return None
    params = {k: v for k, v in record.login_params.items() if k != "lti_storage_target"}
    params["lti1p3_new_window"] = "1"
    return url_for("lti.login", _external=False) + "?" + urlencode(params)


def _state_refusal(error: StateMismatch, state: str | None):
    if wants_problem_json():
        return problem_response(error)
    record = db.session.scalar(select(LtiLaunch).where(LtiLaunch.state == state)) if state else None
    url = _new_window_url(record) if error.extra.get("new_window") else None
    db.session.rollback()
    return render_template("lti/new_window.html", error=error, new_window_url=url), error.status


# --- an LMS instructor's page --------------------------------------------------------------


@bp.get("/links/<int:link_id>/learners")
@require_sign_in
def link_learners(link_id: int):
    """The learners who launched this activity of the LMS: only for its instructors."""
    link = links.get_resource_link(db.session, link_id)
    rows = links.link_learners(db.session, link, actor=current_actor())
    return render_template("lti/link_learners.html", link=link, rows=rows)


# --- deep linking --------------------------------------------------------------------------


@bp.route("/deep-link/<launch_id>", methods=["GET", "POST"])
@csrf.exempt  # the launch id, unguessable and short-lived, stands for the CSRF token
def deep_link(launch_id: str):
    now = utcnow()
    record = find_launch(db.session, launch_id, now=now)
    check_deep_linking_launch(record)
    args = InvalidInput.load(DeepLinkArgsSchema(), request.args.to_dict())
    filters = CatalogueFilters(**args)
    shown_in = str(get_locale())
    versions = deep_linking.catalogue_versions(db.session)  # the one catalogue query of the request
    items = deep_linking.catalogue_items(versions, filters, shown_in)
    errors: dict = {}
    if request.method == "POST":
        chosen_slugs = request.form.getlist("course")
        everything = {item.slug: item for item in deep_linking.catalogue_items(versions, CatalogueFilters(), shown_in)}
        unknown = [slug for slug in chosen_slugs if slug not in everything]
        try:
            if unknown:
                raise InvalidInput(f"Unknown course(s): {', '.join(unknown)}.", errors={"course": ["Unknown course."]})
            answer = answer_deep_link(db.session, record, [everything[s] for s in chosen_slugs],
                                      launch_url=_launch_url(), now=now)
        except InvalidInput as exc:
            errors = exc.errors
        else:
            db.session.commit()
            g.lti_form_actions = [origin_of(answer.return_url)]
            return render_template("lti/deep_link_return.html", answer=answer)
    return render_template("lti/deep_link.html", record=record, items=items, args=args,
                           options=deep_linking.filter_options(versions), settings=deep_linking_settings(record),
                           errors=errors), (422 if errors else 200)


# --- Secretariat: platforms --------------------------------------------------------------


@bp.route("/platforms", methods=["GET", "POST"])
@require_permission(LTI_MANAGE)
def platforms():
    errors: dict = {}
    form: dict = {}
    if request.method == "POST":
        form = form_data()
        try:
            data = PlatformSchema().load(form)
            platform = register_platform(db.session, **data, actor=current_actor(), now=utcnow(),
                                         active=form.get("approve") == "1", via="manual")
        except ValidationError as exc:
            errors = exc.messages
        except VCollegeError as exc:
            if not exc.errors:
                raise
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(_("Platform %(name)s registered.", name=platform.name))
            return redirect(url_for("lti.platform", platform_id=platform.id))
    rows = list_platforms(db.session)
    return render_template("lti/platforms.html", platforms=rows, form=form, errors=errors), (422 if errors else 200)


def _platform_page(platform_id: int, *, errors: dict | None = None, form=None, status: int = 200):
    found = get_platform(db.session, platform_id)
    return render_template("lti/platform.html", platform=found, own_origins=own_origins(found),
                           suggested_origin=suggested_origin(found), errors=errors or {}, form=form or {}), status


@bp.get("/platforms/<int:platform_id>")
@require_permission(LTI_MANAGE)
def platform(platform_id: int):
    return _platform_page(platform_id)


@bp.post("/platforms/<int:platform_id>/<action>")
@require_permission(LTI_MANAGE)
def platform_action(platform_id: int, action: str):
    found = get_platform(db.session, platform_id)
    actor, now = current_actor(), utcnow()
    try:
        if action == "approve":
            approve_platform(db.session, found, actor=actor, now=now)
            flash(_("Platform %(name)s approved: its launches are accepted.", name=found.name))
        elif action == "disable":
            disable_platform(db.session, found, actor=actor, now=now, reason=request.form.get("reason") or None)
            flash(_("Platform %(name)s disabled: its launches are refused.", name=found.name))
        elif action == "remove":
            name = found.name
            remove_platform(db.session, found, actor=actor, now=now)
            db.session.commit()
            flash(_("Platform %(name)s removed.", name=name))
            return redirect(url_for("lti.platforms"))
        elif action == "deployments":
            data = DeploymentSchema().load(form_data())
            add_deployment(db.session, found, data["deployment_id"], actor=actor, now=now)
            flash(_("Deployment added."))
        elif action == "frame-origins":
            data = FrameOriginsSchema().load(form_data())
            set_frame_origins(db.session, found, data["extra_frame_origins"], allow_http=_allow_http_origins(),
                              actor=actor, now=now)
            flash(_("The origins allowed to frame the tool are saved."))
        else:
            raise InvalidInput(f"Unknown action {action!r}.", errors={"action": ["Unknown."]})
    except ValidationError as exc:
        db.session.rollback()
        return _platform_page(platform_id, errors=exc.messages, form=request.form, status=422)
    except VCollegeError as exc:
        if not exc.errors or action in ("approve", "disable", "remove"):
            raise
        db.session.rollback()
        return _platform_page(platform_id, errors=exc.errors, form=request.form, status=exc.status)
    db.session.commit()
    return redirect(url_for("lti.platform", platform_id=found.id))


def tool_urls() -> dict[str, str]:
    base = current_app.config["BASE_URL"].rstrip("/")
    return {
        "base": base,
        "login": base + url_for("lti.login"),
        "launch": base + url_for("lti.launch"),
        "jwks": base + url_for("lti.jwks_endpoint"),
        "register": base + url_for("lti.register"),
        "canvas": base + url_for("lti.canvas_configuration"),
    }


def canvas_configuration_json() -> dict:
    urls = tool_urls()
    domain = urls["base"].split("://", 1)[-1].split("/", 1)[0]
    return {
        "title": "CITES Virtual College",
        "description": "Courses of the CITES Virtual College, with grades sent back to the LMS.",
        "oidc_initiation_url": urls["login"],
        "target_link_uri": urls["launch"],
        "public_jwk_url": urls["jwks"],
        "scopes": list(TOOL_SCOPES),
        "extensions": [{
            "domain": domain, "tool_id": "vcollege", "platform": "canvas.instructure.com",
            "privacy_level": "public",
            "settings": {"text": "CITES Virtual College", "placements": [
                {"placement": "link_selection", "message_type": "LtiDeepLinkingRequest", "target_link_uri": urls["launch"]},
                {"placement": "assignment_selection", "message_type": "LtiDeepLinkingRequest", "target_link_uri": urls["launch"]},
            ]},
        }],
        "custom_fields": {},
    }


@bp.get("/canvas.json")
def canvas_configuration():
    return jsonify(canvas_configuration_json())


@bp.get("/tool-configuration")
@require_permission(LTI_MANAGE)
def tool_configuration():
    return render_template("lti/tool_configuration.html", urls=tool_urls(),
                           canvas_json=json.dumps(canvas_configuration_json(), indent=2))


# --- scores waiting for an LMS -----------------------------------------------------------


@bp.get("/scores")
@require_permission(LTI_SCORES)
def scores():
    status = request.args.get("status") or None
    rows = ags.outbox_rows(db.session, status=OutboxStatus(status) if status in {s.value for s in OutboxStatus} else None)
    return render_template("lti/scores.html", rows=rows, status=status, statuses=list(OutboxStatus), now=utcnow())


@bp.post("/scores/<int:row_id>/retry")
@require_permission(LTI_SCORES)
def retry_score(row_id: int):
    ags.retry_row(db.session, ags.get_row(db.session, row_id), actor=current_actor(), now=utcnow())
    db.session.commit()
    flash(_("The score will be sent again at the next run."))
    return redirect(url_for("lti.scores", status=request.form.get("status") or None))


# --- dynamic registration ----------------------------------------------------------------


@bp.get("/register")
@limiter.limit(_register_limit)
def register():
    """Dynamic registration: the platform opens this with openid_configuration and registration_token."""
    from vcollege.lti.registration import ToolUrls, register_dynamically

    urls = tool_urls()
    production = current_app.config["ENV"] == "production"
    platform = register_dynamically(
        db.session, openid_configuration=request.args.get("openid_configuration", ""),
        registration_token=request.args.get("registration_token") or None,
        urls=ToolUrls(urls["base"], urls["login"], urls["launch"], urls["jwks"]), now=utcnow(),
        require_https=production, require_public=production,
    )
    db.session.commit()
    response = make_response(render_template("lti/registered.html", platform=platform))
    # The platform shows this page in its own frame before it is registered (or approved),
    # so any site may frame it; it holds no control to click.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors *"
    )
    return response


PLATFORM_STATUS_LABELS = {"pending": _l("Waiting for approval"), "active": _l("Active"), "disabled": _l("Disabled")}
OUTBOX_STATUS_LABELS = {"pending": _l("Waiting"), "sent": _l("Sent"), "failed": _l("Failed"),
                        "superseded": _l("Replaced by a newer score")}


@bp.app_template_global()
def platform_status_label(status) -> str:
    return str(PLATFORM_STATUS_LABELS.get(str(status), status))


@bp.app_template_global()
def outbox_status_label(status) -> str:
    return str(OUTBOX_STATUS_LABELS.get(str(status), status))


__all__ = ["AgsOutbox", "PlatformStatus", "bp"]
