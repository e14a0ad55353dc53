"""LTI Dynamic Registration (IMS LTI Dynamic Registration 1.0).

A platform administrator pastes the tool's registration URL; the platform opens it with
`openid_configuration` and `registration_token`. The tool reads the platform's
configuration, posts its own registration to the platform's registration endpoint and keeps
the answer as a `pending` platform: its launches are refused until the Secretariat approves.

Invariants:
- the configuration's `issuer` must be on the host of the configuration URL (the
  specification's issuer check);
- the registration endpoint must be on the issuer's host, so a forged configuration cannot
  make the tool post its registration elsewhere;
- with `require_https` (production), every URL must be https;
- with `require_public` (production), every host the tool will call (configuration,
  registration endpoint, token endpoint, key set) must resolve only to public addresses,
  never private, loopback, link-local, multicast or reserved ones, and redirects are not
  followed: a forged configuration cannot make the tool probe the inside of its network.
  The check resolves the names just before the calls; a name that changes its answer in
  between (DNS rebinding) is not caught here;
- nothing is stored unless the platform accepted the registration and gave a client id.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from sqlalchemy.orm import Session

from vcollege.errors import BadRequest
from vcollege.lti.claims import DEEP_LINKING_REQUEST, TOOL_SCOPES
from vcollege.lti.launches import lti_actor
from vcollege.lti.models import LtiPlatform
from vcollege.lti.platforms import register_platform
from vcollege.lti.tool import HTTP_TIMEOUT, http_session

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"


class RegistrationFailed(BadRequest):
    code = "lti-registration-failed"


@dataclass(frozen=True)
class ToolUrls:
    base: str
    login: str
    launch: str
    jwks: str
    logo: str | None = None


def tool_registration(urls: ToolUrls, platform_config: dict) -> dict:
    """The tool's registration request body (client metadata with the LTI tool configuration)."""
    domain = urlsplit(urls.base).netloc
    supported = {m.get("type") for m in (platform_config.get(PLATFORM_CONFIGURATION) or {}).get("messages_supported", [])
                 if isinstance(m, dict)}
    messages = []
    if not supported or DEEP_LINKING_REQUEST in supported:
        messages.append({"type": DEEP_LINKING_REQUEST, "target_link_uri": urls.launch,
                         "label": "CITES Virtual College course"})
    offered = set(platform_config.get("scopes_supported") or TOOL_SCOPES)
    body = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls.login,
        "redirect_uris": [urls.launch],
        "client_name": "CITES Virtual College",
        "jwks_uri": urls.jwks,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(s for s in TOOL_SCOPES if s in offered),
        TOOL_CONFIGURATION: {
            "domain": domain,
            "target_link_uri": urls.launch,
            "description": "Courses of the CITES Virtual College, with grades sent back to the LMS.",
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email", "locale"],
            "messages": messages,
        },
    }
    if urls.logo:
        body["logo_uri"] = urls.logo
    return body


def resolve_host(host: str) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(info[4][0] for info in infos))


def _is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
                                 or ip.is_multicast or ip.is_unspecified)


def check_public_host(url: str, field: str) -> None:
    """Refuse a URL whose host does not resolve, or resolves to any non-public address."""
    host = urlsplit(url).hostname
    addresses = resolve_host(host) if host else []
    if not addresses:
        raise RegistrationFailed(f"The host of {url} does not resolve.", errors={field: ["Host does not resolve."]})
    private = [a for a in addresses if not _is_public(a)]
    if private:
        raise RegistrationFailed(f"The host of {url} resolves to a private or reserved address ({', '.join(private)}).",
                                 errors={field: ["Resolves to a private or reserved address."]})


def _get_json(client: requests.Session, url: str, token: str | None) -> dict:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = client.get(url, headers=headers, timeout=HTTP_TIMEOUT, allow_redirects=False)
        if response.is_redirect:
            raise RegistrationFailed(f"The platform configuration at {url} redirects elsewhere; give its final URL.",
                                     errors={"openid_configuration": ["Redirects."]})
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise RegistrationFailed(f"The platform configuration at {url} could not be read: {exc}",
                                 errors={"openid_configuration": ["Unreadable."]}) from None
    if not isinstance(body, dict):
        raise RegistrationFailed("The platform configuration is not a JSON object.",
                                 errors={"openid_configuration": ["Not an object."]})
    return body


def register_dynamically(session: Session, *, openid_configuration: str, registration_token: str | None,
                         urls: ToolUrls, now: dt.datetime, client: requests.Session | None = None,
                         require_https: bool = False, require_public: bool = False) -> LtiPlatform:
    """Run the dynamic registration handshake and store the platform as pending."""
    schemes = ("https",) if require_https else ("http", "https")
    if not openid_configuration or urlsplit(openid_configuration).scheme not in schemes:
        raise RegistrationFailed(f"The openid_configuration URL is missing or not {'/'.join(schemes)}.",
                                 errors={"openid_configuration": ["Required."]})
    if require_public:
        check_public_host(openid_configuration, "openid_configuration")
    client = client or http_session()
    config = _get_json(client, openid_configuration, registration_token)
    missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
               if not isinstance(config.get(k), str) or not config.get(k)]
    if missing:
        raise RegistrationFailed(f"The platform configuration lacks {', '.join(missing)}.",
                                 errors={k: ["Required."] for k in missing})
    issuer = config["issuer"]
    if urlsplit(openid_configuration).hostname != urlsplit(issuer).hostname:
        raise RegistrationFailed("The configuration URL is not on the host of the issuer it names.",
                                 errors={"issuer": ["Does not match the configuration URL."]})
    if urlsplit(config["registration_endpoint"]).hostname != urlsplit(issuer).hostname:
        raise RegistrationFailed("The registration endpoint is not on the issuer's host.",
                                 errors={"registration_endpoint": ["Not on the issuer's host."]})
    if require_https:
        plain = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
                 if urlsplit(config[k]).scheme != "https"]
        if plain:
            raise RegistrationFailed(f"Not https: {', '.join(plain)}.", errors={k: ["Must be https."] for k in plain})
    if require_public:
        for name in ("registration_endpoint", "token_endpoint", "jwks_uri"):
            check_public_host(config[name], name)
    body = tool_registration(urls, config)
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    try:
        response = client.post(config["registration_endpoint"], json=body, headers=headers, timeout=HTTP_TIMEOUT,
                               allow_redirects=False)
        response.raise_for_status()
        if response.is_redirect:
            raise requests.HTTPError(f"redirected to {response.headers.get('Location')}")
        answer = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise RegistrationFailed(f"The platform refused the registration: {exc}",
                                 errors={"registration_endpoint": ["Refused."]}) from None
    client_id = answer.get("client_id") if isinstance(answer, dict) else None
    if not client_id:
        raise RegistrationFailed("The platform's answer has no client_id.", errors={"client_id": ["Missing."]})
    tool_config = answer.get(TOOL_CONFIGURATION) or {}
    deployment_id = tool_config.get("deployment_id")
    platform_config = config.get(PLATFORM_CONFIGURATION) or {}
    product = platform_config.get("product_family_code")
    name = f"{product or urlsplit(issuer).netloc} ({urlsplit(issuer).netloc})" if product else urlsplit(issuer).netloc
    return register_platform(
        session, issuer=issuer, client_id=str(client_id), auth_login_url=config["authorization_endpoint"],
        auth_token_url=config["token_endpoint"], key_set_url=config["jwks_uri"],
        auth_audience=config.get("authorization_server") or None,
        deployment_ids=[str(deployment_id)] if deployment_id else [], name=name,
        actor=lti_actor(issuer), now=now, active=False, via="dynamic", product=product,
    )
