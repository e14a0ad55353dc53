"""The OIDC third-party initiated login: check the platform, store state and nonce
server-side, and send the browser to the platform's authorisation endpoint.

Where the platform offers the LTI client-side postMessage storage (`lti_storage_target`),
the login also makes a random value for the login page to put into the platform's storage
under a key bound to the state (`lti.put_data`); only its SHA-256 is stored. The launch page
reads it back from the platform (`lti.get_data`) and the confirmation must present it: a
browser that did not start this login, inside this platform's frame, cannot.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from pylti1p3.contrib.flask import FlaskRequest
from pylti1p3.cookie import CookieService
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.session import SessionService
from sqlalchemy.orm import Session

from vcollege.lti.errors import LaunchRefused, PlatformNotActive, UnknownDeployment
from vcollege.lti.models import LtiLaunch, PlatformStatus
from vcollege.lti.platforms import find_deployment, origin_of
from vcollege.lti.tool import DbToolConf, PlatformRegistration

LOGIN_LIFETIME = dt.timedelta(minutes=10)
STATE_COOKIE_PREFIX = "lti_state_"
STORAGE_KEY_PREFIX = "vcollege_state_"


def state_cookie_name(state: str) -> str:
    return STATE_COOKIE_PREFIX + state


def storage_key(state: str) -> str:
    """The key of the login's value in the platform's storage, bound to its state."""
    return STORAGE_KEY_PREFIX + state


def storage_digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


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
    storage_value: str | None = None  # for the login page to put into the platform's storage

    @property
    def storage_key(self) -> str:
        return storage_key(self.state)


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
    storage_target = params.get("lti_storage_target") or None
    storage_value = secrets.token_urlsafe(32) if storage_target else None
    kept = ("iss", "login_hint", "target_link_uri", "lti_message_hint", "lti_deployment_id", "client_id",
            "lti_storage_target")
    launch = LtiLaunch(
        state=state, nonce=nonce, platform=platform, created_at=now, expires_at=now + LOGIN_LIFETIME,
        login_params={k: params[k] for k in kept if params.get(k)},
        storage_target=storage_target[:200] if storage_target else None,
        storage_secret=storage_digest(storage_value) if storage_value else None,
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
    return LoginRedirect(url, state, launch, launch.storage_target, origin_of(platform.auth_login_url), storage_value)
