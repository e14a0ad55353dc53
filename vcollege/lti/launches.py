"""OIDC login and launch: pylti1p3's flow with our storage and our checks.

Invariants:
- the login stores state, nonce, the login parameters and an expiry server-side
  (`lti_launches`); the launch must present that state, and the id_token that nonce;
- a launch record is consumed atomically on first use, so a replayed id_token fails;
- launch data lives in that record until `data_expires_at`, never in the cookie session;
- the browser proves it started the login by the state cookie, or, where the platform
  offers it, through the LTI client-side postMessage storage (confirmed by a second step);
- every refusal raises before anything is written (the edge rolls back), names what was
  wrong and has its own code;
- an id_token needs `exp` and `iat`, an `aud` holding our client id (and `azp` equal to it
  when `aud` has several values), a known deployment, LTI 1.3.0 and its required claims;
- nobody gets the Secretariat role from an LMS: people are created and granted roles by an
  explicit LTI actor holding only `roles:grant` and `people:manage`.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from pylti1p3.contrib.flask import FlaskRequest
from pylti1p3.cookie import CookieService
from pylti1p3.exception import LtiException
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.session import SessionService
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vcollege.catalogue.service import find_course
from vcollege.core.audit import record_audit
from vcollege.core.models import Person, Role
from vcollege.core.people import create_person, grant_role, update_person
from vcollege.core.permissions import PEOPLE_MANAGE, ROLES_GRANT, Actor
from vcollege.errors import Conflict, Forbidden, NotFound, VCollegeError
from vcollege.learning.models import EnrolmentSource
from vcollege.learning.service import enrol_learner
from vcollege.lti.errors import (
    BadSignature,
    LaunchRefused,
    MissingClaim,
    NonceReused,
    PlatformNotActive,
    StateMismatch,
    TokenExpired,
    TokenNotYetValid,
    UnknownDeployment,
    WrongAudience,
    WrongMessage,
)
from vcollege.lti.models import (
    LtiContext,
    LtiDeployment,
    LtiIdentity,
    LtiLaunch,
    LtiPlatform,
    LtiResourceLink,
    LtiResourceLinkMember,
    PlatformStatus,
)
from vcollege.lti.platforms import find_deployment
from vcollege.lti.tool import DbToolConf, PlatformRegistration, platform_public_key

LOGIN_LIFETIME = dt.timedelta(minutes=10)
LAUNCH_DATA_LIFETIME = dt.timedelta(hours=2)
CLOCK_LEEWAY = 60  # seconds of clock difference tolerated on iat/exp
STATE_COOKIE_PREFIX = "lti_state_"

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
ROLES = LTI + "roles"
CONTEXT = LTI + "context"
RESOURCE_LINK = LTI + "resource_link"
CUSTOM = LTI + "custom"
LAUNCH_PRESENTATION = LTI + "launch_presentation"
TARGET_LINK_URI = LTI + "target_link_uri"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
SUPPORTED_MESSAGES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
TRAINER_ROLES = {"Instructor", "TeachingAssistant", "ContentDeveloper"}
LEARNER_ROLES = {"Learner"}


def lti_actor(issuer: str) -> Actor:
    """The actor for writes an LMS causes: never `roles:grant-secretariat`."""
    return Actor(label=f"lti:{issuer}", permissions=frozenset({ROLES_GRANT, PEOPLE_MANAGE}))


def map_roles(role_uris: list[str]) -> set[Role]:
    """LIS roles → ours: Learner → learner; Instructor, TeachingAssistant, ContentDeveloper → trainer.

    Context (membership) and institution roles count, full URIs or the short names LTI 1.3
    allows for context roles; system roles (Administrator...) grant nothing, and nothing
    ever yields the Secretariat role.
    """
    roles: set[Role] = set()
    for uri in role_uris or []:
        if not isinstance(uri, str):
            continue
        if uri.startswith(LIS):
            rest = uri[len(LIS):]
            if not (rest.startswith("membership") or rest.startswith("institution/person")):
                continue
            names = {part for part in rest.replace("/", "#").split("#")[1:] if part}
        elif "/" in uri or ":" in uri:
            continue
        else:
            names = {uri}
        if names & TRAINER_ROLES:
            roles.add(Role.TRAINER)
        if names & LEARNER_ROLES:
            roles.add(Role.LEARNER)
    return roles


def state_cookie_name(state: str) -> str:
    return STATE_COOKIE_PREFIX + state


# --- OIDC login ---------------------------------------------------------------------------


class _Params(FlaskRequest):
    """pylti1p3's request wrapper over plain dicts, so no Flask request is touched."""

    def __init__(self, params: dict[str, str], cookies: dict[str, str], secure: bool):
        super().__init__(cookies=cookies, session={}, request_data={"_": "1", **params}, request_is_secure=secure)


class _NoCookies(CookieService):
    def __init__(self, cookies: dict[str, str]):
        self.cookies = cookies

    def get_cookie(self, name):
        return self.cookies.get(name)

    def set_cookie(self, name, value, exp=3600):  # the edge sets our cookies
        pass


class _NoSession(SessionService):
    """pylti1p3 keeps nonces and launch data in Flask's cookie session; we keep them in
    `lti_launches`, so this service stores nothing."""

    def __init__(self):
        pass


@dataclass
class LoginRedirect:
    url: str
    state: str
    launch: LtiLaunch
    storage_target: str | None
    storage_origin: str | None


class ToolOIDCLogin(OIDCLogin):
    def get_redirect(self, url):  # pragma: no cover - we build the answer at the edge
        raise NotImplementedError


def start_login(session: Session, params: dict[str, str], *, launch_url: str, now: dt.datetime,
                secure: bool = False) -> LoginRedirect:
    """Third-party initiated login: check the platform, store state and nonce, and give the
    platform's authorisation URL to send the browser to."""
    errors = {name: ["Required."] for name in ("iss", "login_hint", "target_link_uri") if not params.get(name)}
    if errors:
        raise LaunchRefused(f"The login request lacks {', '.join(errors)}.", errors=errors)
    tool_conf = DbToolConf(session, now=now)
    oidc = ToolOIDCLogin(_Params(params, {}, secure), tool_conf, _NoSession(), _NoCookies({}))
    registration: PlatformRegistration = oidc.validate_oidc_login()  # raises UnknownIssuer / UnknownClient
    platform = registration.platform
    if platform.status != PlatformStatus.ACTIVE:
        raise PlatformNotActive(f"The platform {platform.issuer} ({platform.client_id}) is {platform.status}; "
                                "the Secretariat must approve it before launches are accepted.")
    deployment_id = params.get("lti_deployment_id")
    if deployment_id and find_deployment(session, platform, deployment_id) is None:
        raise UnknownDeployment(f"The deployment {deployment_id!r} is not registered for this platform.",
                                errors={"lti_deployment_id": ["Unknown deployment."]})
    target = params["target_link_uri"]
    if urlsplit(target).netloc != urlsplit(launch_url).netloc:
        raise LaunchRefused("The target link URI is not on this tool.", errors={"target_link_uri": ["Not this tool."]})
    state = secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24)
    kept = ("iss", "login_hint", "target_link_uri", "lti_message_hint", "lti_deployment_id", "client_id",
            "lti_storage_target")
    launch = LtiLaunch(
        state=state, nonce=nonce, platform=platform, created_at=now, expires_at=now + LOGIN_LIFETIME,
        login_params={k: params[k] for k in kept if params.get(k)},
        storage_target=params.get("lti_storage_target") or None,
    )
    session.add(launch)
    session.flush()
    auth = {
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
        "client_id": platform.client_id, "redirect_uri": launch_url, "state": state, "nonce": nonce,
        "login_hint": params["login_hint"],
    }
    if params.get("lti_message_hint"):
        auth["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    url = platform.auth_login_url + separator + urlencode(auth)
    origin = urlsplit(platform.auth_login_url)
    return LoginRedirect(url, state, launch, launch.storage_target, f"{origin.scheme}://{origin.netloc}")


# --- launch -------------------------------------------------------------------------------


@dataclass
class ValidLaunch:
    record: LtiLaunch
    platform: LtiPlatform
    deployment: LtiDeployment
    body: dict[str, Any]
    verified_by: str  # "cookie" or "storage" (confirmation still needed)
    message_launch: ToolMessageLaunch | None = field(default=None, repr=False)

    @property
    def message_type(self) -> str:
        return self.body[MESSAGE_TYPE]


class ToolMessageLaunch(MessageLaunch):
    """pylti1p3's MessageLaunch with the checks it lacks and our server-side records."""

    def __init__(self, params: dict[str, str], cookies: dict[str, str], *, session: Session, now: dt.datetime,
                 secure: bool = False):
        self.params = params
        self.cookies = cookies
        self.db = session
        self.now = now
        self.record: LtiLaunch | None = None
        self.platform: LtiPlatform | None = None
        self.deployment: LtiDeployment | None = None
        self.verified_by = "cookie"
        super().__init__(_Params(params, cookies, secure), DbToolConf(session, now=now), _NoSession(), _NoCookies(cookies))

    def _get_request_param(self, key):
        return self.params.get(key)

    def validate(self) -> ToolMessageLaunch:
        if not self.params.get("id_token"):
            raise MissingClaim("The launch has no id_token.", errors={"id_token": ["Required."]})
        if not self.params.get("state"):
            raise StateMismatch("The launch has no state.", errors={"state": ["Required."]})
        try:
            self.validate_jwt_format()
        except LtiException as exc:
            raise BadSignature(f"The id_token is not a JWT: {exc}", errors={"id_token": ["Malformed."]}) from None
        self._validated = True
        self.validate_registration()
        self.validate_jwt_signature()
        self.validate_deployment()
        self.validate_state()
        self.validate_nonce()
        self.validate_message()
        return self

    def _body(self) -> dict:
        return self._jwt.get("body", {})

    def validate_registration(self):
        body = self._body()
        iss = body.get("iss")
        if not iss or not isinstance(iss, str):
            raise MissingClaim("The id_token has no issuer.", errors={"iss": ["Required."]})
        tool_conf: DbToolConf = self._tool_config
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud] if aud else []
        if not audiences:
            raise WrongAudience("The id_token has no audience.", errors={"aud": ["Required."]})
        azp = body.get("azp")
        if len(audiences) > 1 and not azp:
            raise WrongAudience("The id_token has several audiences and no azp.", errors={"azp": ["Required with several audiences."]})
        client_id = azp or audiences[0]
        if azp and azp not in audiences:
            raise WrongAudience("The id_token's azp is not one of its audiences.", errors={"azp": ["Not in aud."]})
        platform = tool_conf.platform_for(iss, client_id)  # UnknownIssuer / UnknownClient
        self._registration = PlatformRegistration(platform, tool_conf._key())
        self.platform = platform
        record = self.db.scalar(select(LtiLaunch).where(LtiLaunch.state == self.params["state"]))
        if record is None or record.platform.issuer != iss:
            raise StateMismatch("The state does not belong to a login started with this tool.",
                                errors={"state": ["Unknown state."]})
        if record.platform_id != platform.id:
            raise WrongAudience(f"The id_token is for client id {client_id}, the login was for {record.platform.client_id}.",
                                errors={"aud": ["Not the client id of the login."]})
        self.record = record
        if platform.status != PlatformStatus.ACTIVE:
            raise PlatformNotActive(f"The platform {platform.issuer} ({platform.client_id}) is {platform.status}; "
                                    "the Secretariat must approve it before launches are accepted.")
        return self

    def validate_jwt_signature(self):
        header = self._jwt.get("header", {})
        kid, alg = header.get("kid"), header.get("alg")
        if alg not in ("RS256", "RS384", "RS512"):
            raise BadSignature(f"The id_token must be signed with RS256 (got {alg!r}).", errors={"alg": ["Not allowed."]})
        if not kid:
            raise BadSignature("The id_token header names no kid.", errors={"kid": ["Required."]})
        key, _key_alg = platform_public_key(self.platform, kid, now=self.now)
        try:
            jwt.decode(
                self.params["id_token"], key, algorithms=[alg], audience=self.platform.client_id,
                issuer=self.platform.issuer, leeway=CLOCK_LEEWAY,
                options={"require": ["exp", "iat", "iss", "aud"], "verify_aud": True},
            )
        except jwt.MissingRequiredClaimError as exc:
            if exc.claim == "exp":
                raise TokenExpired("The id_token has no exp: a token must expire.", errors={"exp": ["Required."]}) from None
            raise MissingClaim(f"The id_token has no {exc.claim}.", errors={exc.claim: ["Required."]}) from None
        except jwt.ExpiredSignatureError:
            raise TokenExpired("The id_token has expired.", errors={"exp": ["In the past."]}) from None
        except jwt.ImmatureSignatureError:
            raise TokenNotYetValid("The id_token is issued in the future (iat).", errors={"iat": ["In the future."]}) from None
        except jwt.InvalidAudienceError:
            raise WrongAudience("The id_token is not for this tool.", errors={"aud": ["Not our client id."]}) from None
        except jwt.InvalidIssuerError:
            raise BadSignature("The id_token's issuer does not match.", errors={"iss": ["Mismatch."]}) from None
        except jwt.PyJWTError as exc:
            raise BadSignature(f"The id_token's signature does not verify: {exc}", errors={"id_token": ["Bad signature."]}) from None
        return self

    def validate_deployment(self):
        deployment_id = self._body().get(DEPLOYMENT_ID)
        if not deployment_id:
            raise MissingClaim("The id_token has no deployment_id.", errors={DEPLOYMENT_ID: ["Required."]})
        deployment = find_deployment(self.db, self.platform, deployment_id)
        if deployment is None:
            raise UnknownDeployment(f"The deployment {deployment_id!r} is not registered for this platform.",
                                    errors={"deployment_id": ["Unknown deployment."]})
        self.deployment = deployment
        return self

    def validate_state(self):
        record = self.record
        if record.expires_at <= self.now:
            raise StateMismatch("The login has expired; start again from the LMS.", errors={"state": ["Expired."]})
        if record.consumed_at is not None:
            raise NonceReused("This id_token was used before.", errors={"nonce": ["Used before."]})
        if self.cookies.get(state_cookie_name(record.state)) == record.state:
            self.verified_by = "cookie"
        elif record.storage_target:
            self.verified_by = "storage"  # the browser confirms through the platform's storage
        else:
            raise StateMismatch(
                "The browser did not send back the login's state cookie (third-party cookies blocked?).",
                errors={"state": ["No matching cookie."]}, new_window=True,
            )
        return self

    def validate_nonce(self):
        nonce = self._body().get("nonce")
        if not nonce:
            raise MissingClaim("The id_token has no nonce.", errors={"nonce": ["Required."]})
        if nonce != self.record.nonce:
            raise NonceReused("The nonce is not the one issued for this login.", errors={"nonce": ["Mismatch."]})
        if self.record.consumed_at is not None:
            raise NonceReused("This id_token was used before.", errors={"nonce": ["Used before."]})
        return self

    def validate_message(self):
        body = self._body()
        message_type = body.get(MESSAGE_TYPE)
        if message_type not in SUPPORTED_MESSAGES:
            raise WrongMessage(f"The message type {message_type!r} is not supported here.",
                               errors={"message_type": [f"Expected one of {', '.join(SUPPORTED_MESSAGES)}."]})
        if body.get(VERSION) != "1.3.0":
            raise WrongMessage(f"The LTI version {body.get(VERSION)!r} is not 1.3.0.", errors={"version": ["Expected 1.3.0."]})
        target = body.get(TARGET_LINK_URI)
        if message_type == RESOURCE_LINK_REQUEST and not target:
            raise MissingClaim("The id_token has no target_link_uri.", errors={"target_link_uri": ["Required."]})
        try:
            super().validate_message()
        except LtiException as exc:
            text = str(exc)
            if "resource link placement" in text or "presentation" in text:
                raise WrongMessage(f"The deep-linking request is not usable: {text}.",
                                   errors={"accept_types": ["Must include ltiResourceLink."]}) from None
            raise MissingClaim(f"The launch lacks a required claim: {text}.", errors={"claims": [text]}) from None
        return self

    def consume(self) -> ValidLaunch:
        """Mark the login used (atomically) and keep the launch data server-side."""
        record = self.record
        result = self.db.execute(
            update(LtiLaunch).where(LtiLaunch.id == record.id, LtiLaunch.consumed_at.is_(None))
            .values(consumed_at=self.now).execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise NonceReused("This id_token was used before.", errors={"nonce": ["Used before."]})
        self.db.refresh(record)
        record.launch_id = uuid.uuid4().hex
        record.message_type = self._body()[MESSAGE_TYPE]
        record.launch_data = self._body()
        record.data_expires_at = self.now + LAUNCH_DATA_LIFETIME
        if self.verified_by == "storage":
            record.confirm_token = secrets.token_urlsafe(24)
        self.db.flush()
        return ValidLaunch(record, self.platform, self.deployment, self._body(), self.verified_by, self)


def validate_launch(session: Session, params: dict[str, str], cookies: dict[str, str], *, now: dt.datetime,
                    secure: bool = False) -> ValidLaunch:
    """Check an id_token POST completely, then consume its login; refusals write nothing."""
    launch = ToolMessageLaunch(params, cookies, session=session, now=now, secure=secure)
    launch.validate()
    return launch.consume()


def confirm_storage_launch(session: Session, state: str, confirm_token: str, *, now: dt.datetime) -> LtiLaunch:
    """The second step of a launch verified through platform storage."""
    record = session.scalar(select(LtiLaunch).where(LtiLaunch.state == state))
    if (record is None or not record.confirm_token or not confirm_token
            or not secrets.compare_digest(record.confirm_token, confirm_token)):
        raise StateMismatch("The launch confirmation does not match.", errors={"state": ["Mismatch."]})
    if record.data_expires_at is None or record.data_expires_at <= now:
        raise StateMismatch("The launch has expired; start again from the LMS.", errors={"state": ["Expired."]})
    record.confirm_token = None  # one confirmation only
    return record


def find_launch(session: Session, launch_id: str, *, now: dt.datetime) -> LtiLaunch:
    """The unexpired launch with this id, or NotFound."""
    record = session.scalar(select(LtiLaunch).where(LtiLaunch.launch_id == launch_id))
    if record is None or record.data_expires_at is None or record.data_expires_at <= now or record.launch_data is None:
        raise NotFound("This launch is unknown or has expired; open the tool again from the LMS.")
    return record


# --- what a launch changes ----------------------------------------------------------------


@dataclass
class LaunchOutcome:
    person: Person
    roles: set[Role]
    launch: LtiLaunch
    context: LtiContext | None
    resource_link: LtiResourceLink | None
    course_slug: str | None
    language: str | None
    launch_locale: str | None = None  # any language the LMS asked for (content may exist in it)
    enrolment: Any = None
    refusal: VCollegeError | None = None  # why the learner could not be enrolled


def _launch_locale(body: dict) -> str | None:
    """The launch's language code (`pt`, `fr`...), whatever the interface offers."""
    locale = (body.get(LAUNCH_PRESENTATION) or {}).get("locale") or body.get("locale")
    if not isinstance(locale, str) or not locale:
        return None
    code = locale.replace("_", "-").split("-")[0].lower()
    return code if code.isalpha() and len(code) <= 3 else None


def _language(body: dict, languages: list[str]) -> str | None:
    code = _launch_locale(body)
    return code if code in languages else None


def _display_name(body: dict) -> str:
    name = body.get("name") or " ".join(p for p in (body.get("given_name"), body.get("family_name")) if p)
    return (name or "").strip()[:200] or f"LMS user {str(body.get('sub'))[:40]}"


def upsert_person(session: Session, issuer: str, body: dict, roles: set[Role], *, language: str | None,
                  now: dt.datetime) -> tuple[Person, LtiIdentity]:
    """Find the person by (issuer, subject) or create them; refresh name, e-mail and language."""
    actor = lti_actor(issuer)
    subject = str(body["sub"])
    identity = session.scalar(select(LtiIdentity).where(LtiIdentity.issuer == issuer, LtiIdentity.subject == subject))
    email = body.get("email") if isinstance(body.get("email"), str) and "@" in body.get("email", "") else None
    name = _display_name(body)
    if identity is None:
        person = create_person(session, name=name, email=email, preferred_language=language,
                               roles=tuple(sorted(roles or {Role.LEARNER})), actor=actor, now=now)
        identity = LtiIdentity(issuer=issuer, subject=subject, person=person, created_at=now, last_launch_at=now)
        session.add(identity)
        session.flush()
        record_audit(session, actor, "lti.identity_linked", person, now=now, detail={"issuer": issuer, "subject": subject})
        return person, identity
    person = identity.person
    identity.last_launch_at = now
    changes: dict[str, Any] = {}
    if body.get("name") or body.get("given_name"):
        changes["name"] = name
    if email:
        changes["email"] = email.strip().lower()
    if language:
        changes["preferred_language"] = language
    if changes:
        update_person(session, person, actor=actor, now=now, **changes)
    for role in roles:
        grant_role(session, person, role, actor=actor, now=now, reason=f"LTI launch from {issuer}")
    return person, identity


def upsert_context(session: Session, deployment: LtiDeployment, body: dict, *, now: dt.datetime) -> LtiContext | None:
    claim = body.get(CONTEXT) or {}
    context_id = claim.get("id") if isinstance(claim, dict) else None
    if not context_id:
        return None
    context = session.scalar(select(LtiContext).where(LtiContext.deployment_id == deployment.id,
                                                      LtiContext.context_id == str(context_id)))
    if context is None:
        context = LtiContext(deployment=deployment, context_id=str(context_id), created_at=now, ags_scopes=[])
        session.add(context)
    context.label = (claim.get("label") or context.label or "")[:255] or None
    context.title = (claim.get("title") or context.title or "")[:500] or None
    context.last_launch_at = now
    nrps = body.get(NRPS) or {}
    if nrps.get("context_memberships_url"):
        context.memberships_url = nrps["context_memberships_url"]
    ags = body.get(AGS_ENDPOINT) or {}
    if ags.get("lineitems"):
        context.lineitems_url = ags["lineitems"]
    if ags.get("scope"):
        context.ags_scopes = sorted(set(ags["scope"]))
    session.flush()
    return context


def upsert_resource_link(session: Session, deployment: LtiDeployment, context: LtiContext | None, body: dict,
                         *, now: dt.datetime) -> LtiResourceLink | None:
    claim = body.get(RESOURCE_LINK) or {}
    link_id = claim.get("id") if isinstance(claim, dict) else None
    if not link_id:
        return None
    link = session.scalar(select(LtiResourceLink).where(LtiResourceLink.deployment_id == deployment.id,
                                                        LtiResourceLink.resource_link_id == str(link_id)))
    if link is None:
        link = LtiResourceLink(deployment=deployment, resource_link_id=str(link_id), created_at=now)
        session.add(link)
    link.context = context
    link.title = (claim.get("title") or link.title or "")[:500] or None
    custom = body.get(CUSTOM) or {}
    slug = custom.get("course") if isinstance(custom, dict) else None
    if isinstance(slug, str) and slug.strip() and not slug.startswith("$"):
        link.course_slug = slug.strip()[:120]
    ags = body.get(AGS_ENDPOINT) or {}
    if ags.get("lineitem"):
        link.lineitem_url = ags["lineitem"]
    link.last_launch_at = now
    session.flush()
    return link


def enrol_from_launch(session: Session, person: Person, course_slug: str, *, launch: LtiLaunch, actor: Actor,
                      now: dt.datetime) -> tuple[Any, VCollegeError | None]:
    """Enrol a learner who launched a course link, in the course's current version (enrolling
    again returns the enrolment they have). A refusal — an unknown or retired course, a course
    restricted to officials — does not undo the launch: the person, context and link stay
    recorded, and the learner is told why."""
    course = find_course(session, course_slug)
    if course is None or course.current_version is None:
        return None, NotFound(f"The LMS link points to the course {course_slug!r}, which the catalogue does not have.",
                              errors={"course": ["Unknown course."]})
    try:
        with session.begin_nested():
            enrolment = enrol_learner(session, person, course.current_version, source=EnrolmentSource.LTI,
                                      actor=actor, now=now)
    except (Forbidden, Conflict) as refusal:
        return None, refusal
    return enrolment, None


def complete_launch(session: Session, launch: LtiLaunch, *, languages: list[str], now: dt.datetime) -> LaunchOutcome:
    """Create or update the person, the context and the resource link of a validated launch,
    and enrol a learner in the linked course."""
    body = launch.launch_data or {}
    platform = launch.platform
    deployment = find_deployment(session, platform, body.get(DEPLOYMENT_ID))
    if deployment is None:  # removed between launch and confirmation
        raise UnknownDeployment("The deployment is no longer registered.")
    roles = map_roles(body.get(ROLES) or [])
    language = _language(body, languages)
    person, identity = upsert_person(session, platform.issuer, body, roles, language=language, now=now)
    context = upsert_context(session, deployment, body, now=now)
    link = None
    if launch.message_type == RESOURCE_LINK_REQUEST:
        link = upsert_resource_link(session, deployment, context, body, now=now)
        if link is not None and session.scalar(select(LtiResourceLinkMember).where(
                LtiResourceLinkMember.resource_link_id == link.id, LtiResourceLinkMember.identity_id == identity.id)) is None:
            session.add(LtiResourceLinkMember(resource_link=link, identity=identity, first_launch_at=now))
    launch.person = person
    launch.resource_link = link
    session.flush()
    outcome = LaunchOutcome(person, roles or {Role.LEARNER}, launch, context, link,
                            link.course_slug if link is not None else None, language, _launch_locale(body))
    if link is not None and link.course_slug and Role.LEARNER in outcome.roles:
        outcome.enrolment, outcome.refusal = enrol_from_launch(
            session, person, link.course_slug, launch=launch, actor=lti_actor(platform.issuer), now=now)
    return outcome


def prune_launches(session: Session, *, now: dt.datetime) -> int:
    """Forget logins never completed and launch data past its expiry."""
    from sqlalchemy import delete

    removed = session.execute(delete(LtiLaunch).where(
        (LtiLaunch.consumed_at.is_(None) & (LtiLaunch.expires_at < now)) | (LtiLaunch.data_expires_at < now)
    )).rowcount
    return removed or 0
