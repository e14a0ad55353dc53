"""The launch: pylti1p3's MessageLaunch with the checks it lacks and our server-side records.

A launch is verified completely before anything is written, then consumes its login record
atomically (a replayed id_token fails) and keeps the launch data there until it expires.
A launch verified through the platform's storage is applied only once the browser confirms
it (`confirm_storage_launch`) with the value the login put into that storage.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from pylti1p3.exception import LtiException
from pylti1p3.message_launch import MessageLaunch
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from vcollege.errors import NotFound
from vcollege.lti.claims import (
    DEPLOYMENT_ID,
    MESSAGE_TYPE,
    RESOURCE_LINK_REQUEST,
    SUPPORTED_MESSAGES,
    TARGET_LINK_URI,
    VERSION,
)
from vcollege.lti.errors import (
    BadSignature,
    MissingClaim,
    NonceMismatch,
    NonceReused,
    PlatformNotActive,
    StateMismatch,
    TokenExpired,
    TokenNotYetValid,
    UnknownDeployment,
    UnknownIssuer,
    WrongAudience,
    WrongMessage,
)
from vcollege.lti.launches.login import (
    _NoCookies,
    _NoSession,
    _Params,
    state_cookie_name,
    storage_digest,
)
from vcollege.lti.models import LtiDeployment, LtiLaunch, LtiPlatform, PlatformStatus
from vcollege.lti.platforms import find_deployment, find_platform, platforms_of_issuer
from vcollege.lti.tool import DbToolConf, PlatformRegistration, platform_public_key

LAUNCH_DATA_LIFETIME = dt.timedelta(hours=2)
CLOCK_LEEWAY = 60  # seconds of clock difference tolerated on iat/exp


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
        if not platforms_of_issuer(self.db, iss):
            raise UnknownIssuer(f"No platform is registered with the issuer {iss!r}.", errors={"iss": ["Unknown issuer."]})
        platform = find_platform(self.db, iss, str(client_id))
        if platform is None:
            raise WrongAudience(f"The id_token is for the client id {client_id!r}, which is not this tool's for {iss}.",
                                errors={"aud": ["Not a client id of this tool."]})
        tool_conf: DbToolConf = self._tool_config
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
        elif record.storage_target and record.storage_secret:
            self.verified_by = "storage"  # the browser confirms with the value in the platform's storage
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
        if not secrets.compare_digest(str(nonce), self.record.nonce):
            raise NonceMismatch("The nonce is not the one issued for this login.", errors={"nonce": ["Mismatch."]})
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
        if self.verified_by == "cookie":
            record.storage_secret = None  # applied now: nothing left to confirm
        self.db.flush()
        return ValidLaunch(record, self.platform, self.deployment, self._body(), self.verified_by, self)


def validate_launch(session: Session, params: dict[str, str], cookies: dict[str, str], *, now: dt.datetime,
                    secure: bool = False) -> ValidLaunch:
    """Check an id_token POST completely, then consume its login; refusals write nothing."""
    launch = ToolMessageLaunch(params, cookies, session=session, now=now, secure=secure)
    launch.validate()
    return launch.consume()


def confirm_storage_launch(session: Session, state: str, value: str, *, now: dt.datetime) -> LtiLaunch:
    """The second step of a launch verified through platform storage: `value` must be the one
    the login put into the platform's storage, and is accepted once."""
    record = session.scalar(select(LtiLaunch).where(LtiLaunch.state == state)) if state else None
    if (record is None or record.consumed_at is None or record.launch_data is None or not record.storage_secret
            or not value or not secrets.compare_digest(record.storage_secret, storage_digest(value))):
        raise StateMismatch("The launch confirmation does not match.", errors={"state": ["Mismatch."]})
    if record.data_expires_at is None or record.data_expires_at <= now:
        raise StateMismatch("The launch has expired; start again from the LMS.", errors={"state": ["Expired."]})
    record.storage_secret = None  # one confirmation only
    session.flush()
    return record


def find_launch(session: Session, launch_id: str, *, now: dt.datetime) -> LtiLaunch:
    """The unexpired launch with this id, or NotFound."""
    record = session.scalar(select(LtiLaunch).where(LtiLaunch.launch_id == launch_id))
    if record is None or record.data_expires_at is None or record.data_expires_at <= now or record.launch_data is None:
        raise NotFound("This launch is unknown or has expired; open the tool again from the LMS.")
    return record


def prune_launches(session: Session, *, now: dt.datetime) -> int:
    """Forget logins never completed and launch data past its expiry."""
    removed = session.execute(delete(LtiLaunch).where(
        (LtiLaunch.consumed_at.is_(None) & (LtiLaunch.expires_at < now)) | (LtiLaunch.data_expires_at < now)
    )).rowcount
    return removed or 0
