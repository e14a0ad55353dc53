"""Platform registrations and their deployments.

Invariants:
- a platform is one (issuer, client id); registering the same pair twice is a conflict;
- a platform starts `pending` unless the registering actor manages platforms and asks for it
  to be active at once (CLI, Secretariat page); only an actor with `lti:manage` approves;
- launches are accepted only from `active` platforms;
- every registration, approval, disabling, removal and deployment change is audited;
- the origins that may frame the tool are the active platforms' own (issuer, authentication,
  token and key set URLs) and those the Secretariat types in (https origins; http only
  outside production; audited); nothing else ever adds one;
- the origin a valid launch came from is recorded, as information only, when its host is the
  registrable domain of one of the platform's registered hosts or a subdomain of one of
  them; any other origin is not recorded at all (any LMS user can send any Origin).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vcollege.core.audit import record_audit
from vcollege.core.models import Role
from vcollege.core.permissions import Actor, define_permission
from vcollege.errors import Conflict, InvalidInput, NotFound
from vcollege.lti.models import (
    AgsOutbox,
    LtiContext,
    LtiDeployment,
    LtiLaunch,
    LtiPlatform,
    LtiResourceLink,
    LtiResourceLinkMember,
    PlatformStatus,
)

LTI_MANAGE = define_permission("lti:manage", "Register, approve and disable LMS platforms; rotate LTI keys")
LTI_SCORES = define_permission(
    "lti:scores", "See scores waiting for an LMS and send them again", roles=(Role.TRAINER,), token_scope=True
)


def _check_url(errors: dict, name: str, value: str | None, required: bool = True) -> None:
    if not value:
        if required:
            errors[name] = ["Required."]
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors[name] = ["Must be an http(s) URL."]


def register_platform(
    session: Session,
    *,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str,
    deployment_ids: list[str] | tuple[str, ...] = (),
    auth_audience: str | None = None,
    name: str | None = None,
    actor: Actor,
    now: dt.datetime,
    active: bool = False,
    via: str = "manual",
    product: str | None = None,
) -> LtiPlatform:
    """Register a platform (pending unless `active`); the (issuer, client id) pair must be new."""
    if active:
        actor.require(LTI_MANAGE)
    errors: dict[str, list[str]] = {}
    if not issuer:
        errors["issuer"] = ["Required."]
    if not client_id:
        errors["client_id"] = ["Required."]
    _check_url(errors, "auth_login_url", auth_login_url)
    _check_url(errors, "auth_token_url", auth_token_url)
    _check_url(errors, "key_set_url", key_set_url)
    if any(not d.strip() for d in deployment_ids):
        errors["deployment_id"] = ["Must not be blank."]
    if errors:
        raise InvalidInput(f"Invalid fields: {', '.join(sorted(errors))}", errors=errors)
    if find_platform(session, issuer, client_id) is not None:
        raise Conflict(
            f"The platform {issuer} with client id {client_id} is registered already.",
            errors={"client_id": ["Already registered for this issuer."]},
        )
    platform = LtiPlatform(
        name=(name or urlsplit(issuer).netloc or issuer)[:200], issuer=issuer, client_id=client_id,
        auth_login_url=auth_login_url, auth_token_url=auth_token_url, key_set_url=key_set_url,
        auth_audience=auth_audience or None, status=PlatformStatus.PENDING, registered_via=via,
        product=product, created_at=now, extra_frame_origins=[],
    )
    for deployment_id in dict.fromkeys(d.strip() for d in deployment_ids):
        platform.deployments.append(LtiDeployment(deployment_id=deployment_id, created_at=now))
    session.add(platform)
    session.flush()
    record_audit(session, actor, "lti.platform_registered", platform, now=now, detail={
        "issuer": issuer, "client_id": client_id, "via": via,
        "deployments": [d.deployment_id for d in platform.deployments],
    })
    if active:
        approve_platform(session, platform, actor=actor, now=now)
    return platform


def approve_platform(session: Session, platform: LtiPlatform, *, actor: Actor, now: dt.datetime) -> LtiPlatform:
    """Accept the platform's launches from now on (only with `lti:manage`)."""
    actor.require(LTI_MANAGE)
    if platform.status == PlatformStatus.ACTIVE:
        return platform
    platform.status = PlatformStatus.ACTIVE
    platform.approved_at = now
    platform.approved_by_id = actor.person_id
    record_audit(session, actor, "lti.platform_approved", platform, now=now)
    return platform


def disable_platform(
    session: Session, platform: LtiPlatform, *, actor: Actor, now: dt.datetime, reason: str | None = None
) -> LtiPlatform:
    """Refuse the platform's launches from now on."""
    actor.require(LTI_MANAGE)
    if platform.status == PlatformStatus.DISABLED:
        return platform
    platform.status = PlatformStatus.DISABLED
    record_audit(session, actor, "lti.platform_disabled", platform, now=now, reason=reason)
    return platform


def remove_platform(session: Session, platform: LtiPlatform, *, actor: Actor, now: dt.datetime) -> None:
    """Delete a registration with its deployments, contexts, links, launches and queued
    scores; the people and their LMS identities stay."""
    actor.require(LTI_MANAGE)
    record_audit(session, actor, "lti.platform_removed", platform, now=now,
                 detail={"issuer": platform.issuer, "client_id": platform.client_id})
    # Explicit deletes, in order: the schema cascades too, but not every SQLite connection
    # enforces foreign keys.
    deployments = select(LtiDeployment.id).where(LtiDeployment.platform_id == platform.id)
    links = select(LtiResourceLink.id).where(LtiResourceLink.deployment_id.in_(deployments))
    for statement in (
        delete(AgsOutbox).where(AgsOutbox.resource_link_id.in_(links)),
        delete(LtiResourceLinkMember).where(LtiResourceLinkMember.resource_link_id.in_(links)),
        delete(LtiLaunch).where(LtiLaunch.platform_id == platform.id),
        delete(LtiResourceLink).where(LtiResourceLink.deployment_id.in_(deployments)),
        delete(LtiContext).where(LtiContext.deployment_id.in_(deployments)),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
    session.delete(platform)
    session.flush()


def add_deployment(
    session: Session, platform: LtiPlatform, deployment_id: str, *, actor: Actor, now: dt.datetime
) -> LtiDeployment:
    """Add a deployment id to a platform; it must be new for this platform."""
    actor.require(LTI_MANAGE)
    deployment_id = deployment_id.strip()
    if not deployment_id:
        raise InvalidInput("The deployment id is required.", errors={"deployment_id": ["Required."]})
    if find_deployment(session, platform, deployment_id) is not None:
        raise Conflict(f"Deployment {deployment_id} exists already.", errors={"deployment_id": ["Already registered."]})
    deployment = LtiDeployment(deployment_id=deployment_id, created_at=now)
    platform.deployments.append(deployment)
    session.flush()
    record_audit(session, actor, "lti.deployment_added", platform, now=now, detail={"deployment_id": deployment_id})
    return deployment


def find_platform(session: Session, issuer: str, client_id: str) -> LtiPlatform | None:
    return session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == issuer, LtiPlatform.client_id == client_id))


def platforms_of_issuer(session: Session, issuer: str) -> list[LtiPlatform]:
    return list(session.scalars(select(LtiPlatform).where(LtiPlatform.issuer == issuer).order_by(LtiPlatform.id)))


def get_platform(session: Session, platform_id: int) -> LtiPlatform:
    """The platform with this id, or NotFound."""
    platform = session.get(LtiPlatform, platform_id)
    if platform is None:
        raise NotFound(f"No LTI platform {platform_id}.")
    return platform


def find_deployment(session: Session, platform: LtiPlatform, deployment_id: str) -> LtiDeployment | None:
    return session.scalar(select(LtiDeployment).where(
        LtiDeployment.platform_id == platform.id, LtiDeployment.deployment_id == deployment_id))


def list_platforms(session: Session, status: PlatformStatus | None = None) -> list[LtiPlatform]:
    query = select(LtiPlatform).order_by(LtiPlatform.issuer, LtiPlatform.client_id)
    if status is not None:
        query = query.where(LtiPlatform.status == status)
    return list(session.scalars(query))


def origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


MAX_FRAME_ORIGINS = 20


def normalise_origin(value: str, *, allow_http: bool) -> str:
    """`value` as an origin (`https://lms.example.org[:port]`), or ValueError saying why not.

    https only, http as well where `allow_http` (outside production); no path, query,
    fragment, user name or wildcard.
    """
    value = value.strip()
    parts = urlsplit(value)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise ValueError(f"{value!r} is not an {' or '.join(schemes)} origin.")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError(f"{value!r} has a path, a query or a fragment: give the origin only.")
    if parts.username or parts.password or "*" in parts.netloc:
        raise ValueError(f"{value!r} is not a plain origin.")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} has a bad port.") from None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port else "")


def _own_urls(platform: LtiPlatform) -> tuple[str | None, ...]:
    """The platform's own URLs: issuer, authentication, token and key set."""
    return platform.issuer, platform.auth_login_url, platform.auth_token_url, platform.key_set_url


def own_origins(platform: LtiPlatform) -> list[str]:
    """The origins of the platform's own URLs, each once."""
    return list(dict.fromkeys(filter(None, map(origin_of, _own_urls(platform)))))


def frame_origins(platform: LtiPlatform) -> list[str]:
    """Who may frame the tool for this platform: its own origins and those the Secretariat added."""
    origins = own_origins(platform)
    for origin in platform.extra_frame_origins or []:
        if origin not in origins:
            origins.append(origin)
    return origins


def frame_ancestors(session: Session) -> list[str]:
    """The origins allowed to frame the tool: those of every active platform."""
    origins: list[str] = []
    for platform in list_platforms(session, PlatformStatus.ACTIVE):
        for origin in frame_origins(platform):
            if origin not in origins:
                origins.append(origin)
    return origins


def _checked_origins(values: list[str], *, allow_http: bool) -> list[str]:
    origins: list[str] = []
    problems: list[str] = []
    for value in values:
        if not value.strip():
            continue
        try:
            origin = normalise_origin(value, allow_http=allow_http)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_FRAME_ORIGINS:
        problems.append(f"At most {MAX_FRAME_ORIGINS} origins.")
    if problems:
        raise InvalidInput("Invalid frame origins: " + " ".join(problems), errors={"extra_frame_origins": problems})
    return origins


def set_frame_origins(session: Session, platform: LtiPlatform, values: list[str], *, allow_http: bool,
                      actor: Actor, now: dt.datetime) -> LtiPlatform:
    """Replace the origins the Secretariat allows to frame the tool for this platform (https
    origins; http too where `allow_http`); audited."""
    actor.require(LTI_MANAGE)
    origins = _checked_origins(values, allow_http=allow_http)
    before = list(platform.extra_frame_origins or [])
    if origins == before:
        return platform
    platform.extra_frame_origins = origins
    if platform.last_unlisted_origin in frame_origins(platform):
        platform.last_unlisted_origin = platform.last_unlisted_origin_at = None
    session.flush()
    record_audit(session, actor, "lti.frame_origins_changed", platform, now=now,
                 detail={"before": before, "after": origins})
    return platform


_SUFFIXES = PublicSuffixList()  # the bundled Public Suffix List; private suffixes count as public (safer)


def _host_of(url: str | None) -> str | None:
    try:
        host = urlsplit(url or "").hostname
    except ValueError:
        return None
    return host.lower().rstrip(".") if host else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def registered_hosts(platform: LtiPlatform) -> list[str]:
    """The hosts of the platform's own URLs, each once."""
    return list(dict.fromkeys(filter(None, map(_host_of, _own_urls(platform)))))


def is_platform_domain(platform: LtiPlatform, origin: str | None) -> bool:
    """Whether the host of `origin` is the registrable domain of one of the platform's
    registered hosts (`example.org` for `lms.example.org`) or a subdomain of one of them
    (`school.lms.example.org`). Addresses (IPs) have neither."""
    host = _host_of(origin)
    if not host or _is_ip(host):
        return False
    for registered in registered_hosts(platform):
        if _is_ip(registered):
            continue
        if host.endswith("." + registered):
            return True
        if host == _SUFFIXES.privatesuffix(registered):
            return True
    return False


def suggested_origin(platform: LtiPlatform) -> str | None:
    """The origin a launch came from, to show the Secretariat as information only: when it is
    of the platform's own domain (see `is_platform_domain`) and may not frame the tool yet."""
    origin = platform.last_unlisted_origin
    if not origin or origin in frame_origins(platform) or not is_platform_domain(platform, origin):
        return None
    return origin


def note_launch_origin(platform: LtiPlatform, origin: str | None, *, also_allowed: list[str] | tuple[str, ...] = (),
                       now: dt.datetime) -> bool:
    """Record the origin a valid launch was posted from when it may not frame the tool and is
    of the platform's own domain (see `is_platform_domain`); any other origin is not recorded
    at all. It is only information for the Secretariat, never allowed by this: an origin
    frames the tool only once the Secretariat types it in (`set_frame_origins`). True if
    recorded."""
    try:
        origin = normalise_origin(origin or "", allow_http=True)
    except ValueError:
        return False
    if origin in frame_origins(platform) or origin in also_allowed or not is_platform_domain(platform, origin):
        return False
    if platform.last_unlisted_origin != origin:
        platform.last_unlisted_origin = origin
    platform.last_unlisted_origin_at = now
    return True
