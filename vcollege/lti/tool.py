"""pylti1p3, extended where it falls short.

- `DbToolConf` reads registrations from the database (pylti1p3's `ToolConfAbstract`), with
  the tool's current signing key; an unknown issuer or client id raises our refusals
  instead of a bare `Exception`.
- `PlatformRegistration` carries the platform row and the key id of our signing key.
- `fetch_key_set` caches a platform's JWKS on its row and is re-fetched once when a token
  names a `kid` the cache does not hold (platform key rotation); pylti1p3's cache never
  re-fetches. Such forced re-fetches are throttled per platform (`KEY_SET_REFETCHES`, in
  process memory, so a refused launch's rollback does not undo it): a stream of tokens with
  unknown kids costs the platform one request per KEY_SET_REFETCH_INTERVAL, not one each.
- `ToolServiceConnector` replaces pylti1p3's connector for AGS and NRPS: access tokens are
  cached until they expire (per platform and scopes), the client assertion carries
  `iat`/`exp`/`jti` and our `kid`, requests carry a `User-Agent` and a timeout, and the
  `Link: <...>; rel="next"` URL is kept exactly as sent (pylti1p3 lowercases it).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import typing as t
import uuid
from dataclasses import dataclass

import jwt
import requests
from pylti1p3.deployment import Deployment
from pylti1p3.registration import Registration
from pylti1p3.service_connector import ServiceConnector
from pylti1p3.tool_config import ToolConfAbstract
from sqlalchemy.orm import Session

from vcollege.core.models import SigningKey
from vcollege.lti.errors import ServiceFailed, UnknownClient, UnknownIssuer, UnknownKey
from vcollege.lti.keys import ensure_signing_key
from vcollege.lti.models import LtiPlatform
from vcollege.lti.platforms import find_deployment, find_platform, platforms_of_issuer

USER_AGENT = "vcollege-lti/1.0 (+https://cites.org; LTI 1.3 tool)"
HTTP_TIMEOUT = 15  # seconds, for every call to an LMS
KEY_SET_TIMEOUT = 5  # seconds: a launch waits on it
KEY_SET_TTL = dt.timedelta(hours=1)
KEY_SET_REFETCH_INTERVAL = 60  # seconds between two forced re-fetches of one platform's key set


class PlatformRegistration(Registration):
    """A pylti1p3 Registration built from a platform row and our signing key."""

    def __init__(self, platform: LtiPlatform, key: SigningKey | None):
        self.platform = platform
        # Plain values, so that service calls never read the database (no transaction is
        # open while the AGS job waits on an LMS).
        self._kid = key.kid if key is not None else None
        self._jwks = [dict(key.public_jwk)] if key is not None else []
        self.set_issuer(platform.issuer).set_client_id(platform.client_id)
        self.set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
        self.set_key_set_url(platform.key_set_url)
        if platform.auth_audience:
            self.set_auth_audience(platform.auth_audience)
        if key is not None:
            self.set_tool_private_key(key.private_pem)

    def get_kid(self) -> str | None:
        return self._kid

    def get_jwks(self):
        return list(self._jwks)


class DbToolConf(ToolConfAbstract):
    """Registrations and deployments from the database; every issuer may hold many client ids."""

    def __init__(self, session: Session, *, now: dt.datetime):
        self.session = session
        self.now = now

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def _key(self) -> SigningKey:
        return ensure_signing_key(self.session, now=self.now)

    def platform_for(self, iss: str, client_id: str | None) -> LtiPlatform:
        """The platform of (iss, client_id); UnknownIssuer or UnknownClient otherwise."""
        known = platforms_of_issuer(self.session, iss) if iss else []
        if not known:
            raise UnknownIssuer(f"No platform is registered with the issuer {iss!r}.", errors={"iss": ["Unknown issuer."]})
        if not client_id:
            if len(known) == 1:
                return known[0]
            raise UnknownClient(f"The issuer {iss} has several client ids; the request must name one.",
                                errors={"client_id": ["Required for this issuer."]})
        platform = find_platform(self.session, iss, client_id)
        if platform is None:
            raise UnknownClient(f"The client id {client_id!r} is not registered for {iss}.",
                                errors={"client_id": ["Unknown client id for this issuer."]})
        return platform

    def find_registration_by_issuer(self, iss, *args, **kwargs):
        return PlatformRegistration(self.platform_for(iss, None), self._key())

    def find_registration_by_params(self, iss, client_id, *args, **kwargs):
        return PlatformRegistration(self.platform_for(iss, client_id), self._key())

    def find_deployment(self, iss, deployment_id):
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        platform = self.platform_for(iss, client_id)
        row = find_deployment(self.session, platform, deployment_id)
        return Deployment().set_deployment_id(row.deployment_id) if row is not None else None


def http_session() -> requests.Session:
    client = requests.Session()
    client.headers["User-Agent"] = USER_AGENT
    return client


def fetch_key_set(platform: LtiPlatform, *, now: dt.datetime, force: bool = False,
                  client: requests.Session | None = None) -> tuple[dict, bool]:
    """The platform's JWKS, from the cache unless stale or `force`; True if fetched now."""
    fresh = (platform.key_set is not None and platform.key_set_fetched_at is not None
             and now - platform.key_set_fetched_at < KEY_SET_TTL)
    if fresh and not force:
        return platform.key_set, False
    client = client or http_session()
    try:
        response = client.get(platform.key_set_url, timeout=KEY_SET_TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        key_set = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise UnknownKey(f"The platform's key set at {platform.key_set_url} could not be read: {exc}",
                         errors={"kid": ["Key set unreachable."]}) from None
    if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
        raise UnknownKey(f"The platform's key set at {platform.key_set_url} is not a JWKS.",
                         errors={"kid": ["Key set malformed."]})
    platform.key_set = key_set
    platform.key_set_fetched_at = now
    return key_set, True


def find_jwk(key_set: dict, kid: str) -> dict | None:
    for key in key_set.get("keys", []):
        if isinstance(key, dict) and key.get("kid") == kid:
            return key
    return None


class RefetchThrottle:
    """When each platform's key set was last re-fetched for an unknown kid, and what came
    back; per process, keyed by (platform id, key set URL)."""

    def __init__(self, interval: float = KEY_SET_REFETCH_INTERVAL, clock: t.Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self._recent: dict[tuple, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(platform: LtiPlatform) -> tuple:
        return (platform.id, platform.key_set_url)

    def recent(self, platform: LtiPlatform) -> dict | None:
        """The key set re-fetched less than `interval` ago, or None if a re-fetch is allowed."""
        with self._lock:
            entry = self._recent.get(self._key(platform))
            if entry is None or self.clock() - entry[0] >= self.interval:
                return None
            return entry[1]

    def note(self, platform: LtiPlatform, key_set: dict) -> None:
        with self._lock:
            self._recent[self._key(platform)] = (self.clock(), key_set)

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()


KEY_SET_REFETCHES = RefetchThrottle()


def platform_public_key(platform: LtiPlatform, kid: str, *, now: dt.datetime, throttle: RefetchThrottle | None = None):
    """The platform key named `kid`: from the cached JWKS, else after one re-fetch (at most
    one per platform and KEY_SET_REFETCH_INTERVAL; in between, the last re-fetched set)."""
    throttle = throttle or KEY_SET_REFETCHES
    key_set, fetched = fetch_key_set(platform, now=now)
    jwk = find_jwk(key_set, kid)
    if jwk is None and not fetched:
        recent = throttle.recent(platform)
        if recent is None:
            try:
                key_set, _ = fetch_key_set(platform, now=now, force=True)
            except UnknownKey:
                throttle.note(platform, key_set)  # an unreachable key set is not asked again at once
                raise
            throttle.note(platform, key_set)
        else:
            key_set = recent
            platform.key_set, platform.key_set_fetched_at = recent, now
        jwk = find_jwk(key_set, kid)
    if jwk is None:
        raise UnknownKey(f"The platform's key set has no key {kid!r}, even after fetching it again.",
                         errors={"kid": ["Unknown key id."]})
    try:
        return jwt.PyJWK(jwk).key, jwk.get("alg", "RS256")
    except jwt.PyJWTError as exc:
        raise UnknownKey(f"The platform key {kid!r} cannot be used: {exc}", errors={"kid": ["Unusable key."]}) from None


@dataclass
class _Token:
    value: str
    expires_at: float


class TokenCache:
    """Access tokens per (token URL, client id, scopes), kept until shortly before expiry."""

    MARGIN = 30  # seconds: a token this close to expiry is not used again

    def __init__(self, clock: t.Callable[[], float] = time.time):
        self.clock = clock
        self._tokens: dict[tuple, _Token] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> str | None:
        with self._lock:
            token = self._tokens.get(key)
            if token is None or token.expires_at - self.MARGIN <= self.clock():
                self._tokens.pop(key, None)
                return None
            return token.value

    def put(self, key: tuple, value: str, expires_in: int) -> None:
        with self._lock:
            self._tokens[key] = _Token(value, self.clock() + expires_in)

    def drop(self, key: tuple) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


TOKENS = TokenCache()


class ToolServiceConnector(ServiceConnector):
    """pylti1p3's connector with cached tokens, exact paging URLs, timeouts and a User-Agent."""

    def __init__(self, registration: PlatformRegistration, *, cache: TokenCache = TOKENS,
                 client: requests.Session | None = None):
        super().__init__(registration, client or http_session())
        self.cache = cache
        self.token_requests = 0

    def _cache_key(self, scopes: t.Sequence[str]) -> tuple:
        registration = self._registration
        return (registration.get_auth_token_url(), registration.get_client_id(), tuple(sorted(set(scopes))))

    def client_assertion(self) -> str:
        registration = self._registration
        now = int(time.time())
        claims = {
            "iss": registration.get_client_id(),
            "sub": registration.get_client_id(),
            "aud": registration.get_auth_audience() or registration.get_auth_token_url(),
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, registration.get_tool_private_key(), algorithm="RS256",
                          headers={"kid": registration.get_kid()})

    def get_access_token(self, scopes: t.Sequence[str]) -> str:
        key = self._cache_key(scopes)
        cached = self.cache.get(key)
        if cached:
            return cached
        self.token_requests += 1
        try:
            response = self._requests_session.post(self._registration.get_auth_token_url(), timeout=HTTP_TIMEOUT, data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": self.client_assertion(),
                "scope": " ".join(sorted(set(scopes))),
            }, headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise ServiceFailed(f"token endpoint unreachable: {exc}", unreachable=True) from None
        if not response.ok:
            raise ServiceFailed(f"token endpoint answered {response.status_code}: {response.text[:300]}", response.status_code)
        try:
            body = response.json()
            token = body["access_token"]
        except (ValueError, KeyError):
            raise ServiceFailed("token endpoint gave no access_token", response.status_code) from None
        expires_in = body.get("expires_in", 3600)
        self.cache.put(key, token, int(expires_in) if str(expires_in).isdigit() else 3600)
        return token

    def make_service_request(self, scopes, url, is_post=False, data=None, content_type="application/json",
                             accept="application/json", case_insensitive_headers=False):
        token = self.get_access_token(scopes)
        headers = {"Authorization": f"Bearer {token}", "Accept": accept}
        try:
            if is_post:
                headers["Content-Type"] = content_type
                response = self._requests_session.post(url, data=data or None, headers=headers, timeout=HTTP_TIMEOUT)
            else:
                response = self._requests_session.get(url, headers=headers, timeout=HTTP_TIMEOUT)
        except requests.RequestException as exc:
            raise ServiceFailed(f"{url} unreachable: {exc}", unreachable=True) from None
        if response.status_code == 401:
            self.cache.drop(self._cache_key(scopes))  # revoked or expired early: fetch a new one next time
        if not response.ok:
            raise ServiceFailed(f"{'POST' if is_post else 'GET'} {url} answered {response.status_code}: {response.text[:300]}",
                                response.status_code)
        return {
            "headers": response.headers if case_insensitive_headers else dict(response.headers),
            "body": response.json() if response.content else None,
            "next_page_url": next_link(response.headers.get("Link", "")),
        }


def next_link(header: str) -> str | None:
    """The URL of `rel="next"` in a Link header, exactly as written (case kept)."""
    if not header:
        return None
    for link in requests.utils.parse_header_links(header.replace("\n", " ")):
        rels = link.get("rel", "").split()
        if "next" in rels and link.get("url"):
            return link["url"]
    return None
