"""An independent LTI 1.3 platform for the tests, written from the IMS specifications
(LTI Core 1.3, Security Framework 1.0, Deep Linking 2.0, AGS 2.0, NRPS 2.0, Dynamic
Registration 1.0, client-side postMessage storage) with Werkzeug, requests and PyJWT.

It shares no code with the tool or with the development LMS. It is strict where the
specifications say MUST: it checks the tool's redirect_uri and client id at the OIDC
step, verifies the tool's client assertion (signature by kid, iss = sub = client id, aud =
token URL, exp, iat, jti never reused), requires `Bearer` tokens carrying the right scope,
answers 401 to a bad token, pages NRPS and line items with `Link: <...>; rel="next"` URLs
that hold upper-case letters, and verifies deep-linking responses with the tool's JWKS.
"""

from __future__ import annotations

import html
import json
import logging
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

logging.getLogger("werkzeug").setLevel(logging.WARNING)

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
LINEITEM_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


@dataclass
class SigningKey:
    kid: str
    private_pem: str
    public_jwk: dict

    @classmethod
    def generate(cls) -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        kid = "platform-" + uuid.uuid4().hex[:12]
        jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
        jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
        return cls(kid, pem, jwk)


@dataclass
class User:
    sub: str
    name: str
    email: str | None = None
    roles: list[str] = field(default_factory=lambda: [LEARNER])
    locale: str = "en-GB"


class TestPlatform:
    __test__ = False  # not a pytest class

    def __init__(self, *, client_id: str = "tool-client-1", deployment_id: str = "deployment-1", path: str = ""):
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        self.issuer = self.origin + path
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.keys = [SigningKey.generate()]
        self.tool_jwks: dict = {"keys": []}
        self.tool_launch_url = "http://localhost/lti/launch"
        self.users: dict[str, User] = {}
        self.messages: dict[str, dict] = {}  # lti_message_hint -> claims of that message
        self.context = {"id": "Context-7", "label": "CITES-101", "title": "CITES for customs officers"}
        self.jwks_fetches = 0
        self.token_requests = 0
        self.used_jti: set[str] = set()
        self.assertion_kids: list[str] = []
        self.tokens: dict[str, set[str]] = {}
        self.token_lifetime = 3600
        self.lineitems: dict[str, dict] = {}
        self.scores: list[dict] = []
        self.score_requests = 0
        self.fail_scores = 0  # answer 503 to this many score posts
        self.members: list[dict] = []
        self.members_page_size = 2
        self.registration_token = "reg-" + secrets.token_hex(8)
        self.registrations: list[dict] = []
        self.deep_link_responses: list[dict] = []
        self.lineitem_page_size = 2
        self.pages: dict[str, str] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # --- URLs -----------------------------------------------------------------------
    @property
    def auth_url(self) -> str:
        return self.origin + "/auth"

    @property
    def token_url(self) -> str:
        return self.origin + "/token"

    @property
    def jwks_url(self) -> str:
        return self.origin + "/jwks"

    @property
    def lineitems_url(self) -> str:
        return self.origin + "/Courses/Context-7/LineItems"

    @property
    def memberships_url(self) -> str:
        return self.origin + "/Courses/Context-7/Memberships"

    def stop(self) -> None:
        self.server.shutdown()

    def rotate_key(self) -> SigningKey:
        """A new signing key; the old one leaves the key set at once."""
        self.keys = [SigningKey.generate()]
        return self.keys[0]

    # --- messages -------------------------------------------------------------------
    def add_user(self, sub: str, name: str, *, roles=None, email=None, locale="en-GB") -> User:
        user = User(sub, name, email or f"{sub}@lms.example.org", roles or [LEARNER], locale)
        self.users[sub] = user
        return user

    def resource_link_message(self, hint: str, *, link_id: str = "Link-1", custom: dict | None = None,
                              lineitem: str | None = None, ags: bool = True, nrps: bool = True) -> str:
        claims: dict[str, Any] = {
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "resource_link": {"id": link_id, "title": f"Activity {link_id}"},
            LTI + "target_link_uri": self.tool_launch_url,
        }
        if custom is not None:
            claims[LTI + "custom"] = custom
        if ags:
            claims[AGS] = {"scope": [SCORE_SCOPE, LINEITEM_SCOPE, LINEITEM_READ], "lineitems": self.lineitems_url}
            if lineitem:
                claims[AGS]["lineitem"] = lineitem
        if nrps:
            claims[NRPS] = {"context_memberships_url": self.memberships_url, "service_versions": ["2.0"]}
        self.messages[hint] = claims
        return hint

    def deep_linking_message(self, hint: str, *, accept_types=("ltiResourceLink",), data: str | None = "opaque-Data-1",
                             accept_multiple: bool = True) -> str:
        settings = {
            "deep_link_return_url": self.origin + "/DeepLinkReturn",
            "accept_types": list(accept_types),
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": accept_multiple,
        }
        if data is not None:
            settings["data"] = data
        self.messages[hint] = {
            LTI + "message_type": "LtiDeepLinkingRequest", LTI + "target_link_uri": self.tool_launch_url, DL: settings,
        }
        return hint

    def id_token_claims(self, *, user: User, nonce: str, hint: str | None) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": self.client_id, "sub": user.sub, "iat": now, "exp": now + 300,
            "nonce": nonce, "name": user.name, "email": user.email,
            LTI + "version": "1.3.0", LTI + "deployment_id": self.deployment_id, LTI + "roles": user.roles,
            LTI + "context": dict(self.context),
            LTI + "launch_presentation": {"locale": user.locale, "document_target": "iframe"},
        }
        claims.update(self.messages.get(hint or "", {}))
        return claims

    def sign(self, claims: dict, *, key: SigningKey | None = None, headers: dict | None = None) -> str:
        key = key or self.keys[0]
        return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid, **(headers or {})})

    def authorize(self, query: dict[str, str], *, overrides: dict | None = None, drop: tuple = (),
                  key: SigningKey | None = None, headers: dict | None = None) -> dict:
        """The OIDC authorisation step: check the tool's request, answer with an id_token."""
        problems = []
        for name, wanted in (("scope", "openid"), ("response_type", "id_token"), ("response_mode", "form_post"),
                             ("prompt", "none"), ("client_id", self.client_id), ("redirect_uri", self.tool_launch_url)):
            if query.get(name) != wanted:
                problems.append(f"{name}={query.get(name)!r}")
        for name in ("state", "nonce", "login_hint"):
            if not query.get(name):
                problems.append(f"{name} missing")
        if problems:
            raise AssertionError(f"the tool's authorisation request is wrong: {problems}")
        user = self.users[query["login_hint"]]
        claims = self.id_token_claims(user=user, nonce=query["nonce"], hint=query.get("lti_message_hint"))
        claims.update(overrides or {})
        for name in drop:
            claims.pop(name, None)
        return {"id_token": self.sign(claims, key=key, headers=headers), "state": query["state"],
                "action": query["redirect_uri"]}

    def login_params(self, user: str, hint: str | None, **extra) -> dict[str, str]:
        params = {"iss": self.issuer, "login_hint": user, "target_link_uri": self.tool_launch_url,
                  "client_id": self.client_id, "lti_deployment_id": self.deployment_id}
        if hint:
            params["lti_message_hint"] = hint
        params.update(extra)
        return params

    def course_page(self, name: str, tool_login_url: str, user: str, hint: str, *, storage: bool) -> str:
        """An LMS course page framing the tool's login initiation; with `storage`, the page
        offers the LTI client-side postMessage storage (`lti_storage_target=_parent`)."""
        extra = {"lti_storage_target": "_parent"} if storage else {}
        src = tool_login_url + "?" + urlencode(self.login_params(user, hint, **extra))
        script = """
<script>
  var store = {};
  window.addEventListener("message", function (event) {
    var m = event.data || {};
    if (m.subject === "lti.put_data") {
      store[event.origin + "|" + m.key] = m.value;
      event.source.postMessage({subject: "lti.put_data.response", message_id: m.message_id, key: m.key, value: m.value}, event.origin);
    } else if (m.subject === "lti.get_data") {
      event.source.postMessage({subject: "lti.get_data.response", message_id: m.message_id, key: m.key,
                                value: store[event.origin + "|" + m.key]}, event.origin);
    } else if (m.subject === "lti.capabilities") {
      event.source.postMessage({subject: "lti.capabilities.response", message_id: m.message_id,
                                supported_messages: [{subject: "lti.put_data"}, {subject: "lti.get_data"}]}, event.origin);
    }
  });
</script>""" if storage else ""
        self.pages[f"/{name}"] = (
            f'<!doctype html><html lang="en"><title>LMS course</title><h1>LMS course page</h1>{script}'
            f'<iframe id="tool" title="vcollege" src="{html.escape(src)}" width="1000" height="700"></iframe></html>'
        )
        return f"{self.origin}/{name}"

    # --- HTTP ----------------------------------------------------------------------
    def wsgi(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.route(request)
        except AssertionError as exc:
            response = Response(str(exc), status=400)
        return response(environ, start_response)

    def _json(self, body, status=200, headers=None, mimetype="application/json") -> Response:
        return Response(json.dumps(body), status=status, headers=headers or {}, mimetype=mimetype)

    def _bearer(self, request: Request, scope: str) -> Response | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):  # capitalised, as Blackboard insists
            return self._json({"error": "invalid_request"}, 401)
        scopes = self.tokens.get(header[len("Bearer "):])
        if scopes is None:
            return self._json({"error": "invalid_token"}, 401)
        if scope not in scopes:
            return self._json({"error": "insufficient_scope"}, 403)
        if not request.headers.get("User-Agent"):
            return self._json({"error": "no User-Agent"}, 400)
        return None

    def route(self, request: Request) -> Response:
        path = request.path
        if path in self.pages:
            return Response(self.pages[path], mimetype="text/html")
        if path == "/jwks":
            with self.lock:
                self.jwks_fetches += 1
            return self._json({"keys": [k.public_jwk for k in self.keys]})
        if path == "/auth":
            answer = self.authorize(request.values.to_dict())
            page = (f'<!doctype html><html lang="en"><title>Platform</title><body>'
                    f'<form id="f" method="post" action="{html.escape(answer["action"])}">'
                    f'<input type="hidden" name="id_token" value="{answer["id_token"]}">'
                    f'<input type="hidden" name="state" value="{html.escape(answer["state"])}"></form>'
                    f'<script>document.getElementById("f").submit()</script></body></html>')
            return Response(page, mimetype="text/html")
        if path == "/token":
            return self.token(request)
        if path == self.path_of(self.lineitems_url):
            return self.lineitems_endpoint(request)
        match = re.fullmatch(r"/Courses/Context-7/LineItems/(\w+)/scores", path)
        if match:
            return self.score_endpoint(request, match.group(1))
        match = re.fullmatch(r"/Courses/Context-7/LineItems/(\w+)", path)
        if match:
            return self._json(self.lineitems[match.group(1)], mimetype="application/vnd.ims.lis.v2.lineitem+json")
        if path == self.path_of(self.memberships_url):
            return self.memberships(request)
        if path == "/.well-known/openid-configuration":
            return self.openid_configuration(request)
        if path == "/Register":
            return self.register(request)
        if path == "/DeepLinkReturn":
            return self.deep_link_return(request)
        return Response("not found", status=404)

    @staticmethod
    def path_of(url: str) -> str:
        return urlsplit(url).path

    def token(self, request: Request) -> Response:
        with self.lock:
            self.token_requests += 1
        form = request.form
        if form.get("grant_type") != "client_credentials" or \
                form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return self._json({"error": "unsupported_grant_type"}, 400)
        assertion = form.get("client_assertion", "")
        try:
            kid = jwt.get_unverified_header(assertion).get("kid")
            jwk = next(k for k in self.tool_jwks["keys"] if k["kid"] == kid)
            claims = jwt.decode(assertion, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=self.token_url,
                                options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]})
        except (StopIteration, jwt.PyJWTError) as exc:
            return self._json({"error": "invalid_client", "error_description": str(exc)}, 401)
        if claims["iss"] != self.client_id or claims["sub"] != self.client_id or claims["jti"] in self.used_jti:
            return self._json({"error": "invalid_client"}, 401)
        self.used_jti.add(claims["jti"])
        self.assertion_kids.append(kid)
        scopes = set(form.get("scope", "").split())
        token = "at-" + secrets.token_hex(12)
        self.tokens[token] = scopes
        return self._json({"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime,
                           "scope": " ".join(sorted(scopes))})

    def lineitems_endpoint(self, request: Request) -> Response:
        if request.method == "POST":
            denied = self._bearer(request, LINEITEM_SCOPE)
            if denied:
                return denied
            body = request.get_json(force=True)
            if "scoreMaximum" not in body or "label" not in body:
                return self._json({"error": "scoreMaximum and label required"}, 400)
            item_id = f"Item{len(self.lineitems) + 1}"
            body["id"] = f"{self.lineitems_url}/{item_id}"
            self.lineitems[item_id] = body
            return self._json(body, 201, mimetype="application/vnd.ims.lis.v2.lineitem+json")
        denied = self._bearer(request, LINEITEM_READ)
        if denied and self._bearer(request, LINEITEM_SCOPE):
            return denied
        items = list(self.lineitems.values())
        if request.args.get("resource_id"):
            items = [i for i in items if i.get("resourceId") == request.args["resource_id"]]
        page = int(request.args.get("Page", 1))
        size = self.lineitem_page_size
        headers = {}
        if page * size < len(items):
            headers["Link"] = f'<{self.lineitems_url}?Page={page + 1}>; rel="next"'
        return self._json(items[(page - 1) * size:page * size], headers=headers,
                          mimetype="application/vnd.ims.lis.v2.lineitemcontainer+json")

    def score_endpoint(self, request: Request, item_id: str) -> Response:
        with self.lock:
            self.score_requests += 1
        denied = self._bearer(request, SCORE_SCOPE)
        if denied:
            return denied
        if item_id not in self.lineitems:
            return self._json({"error": "no such line item"}, 404)
        if request.mimetype != "application/vnd.ims.lis.v1.score+json":
            return self._json({"error": f"wrong content type {request.mimetype}"}, 415)
        with self.lock:
            if self.fail_scores > 0:
                self.fail_scores -= 1
                return Response("LMS is down", status=503)
        score = request.get_json(force=True)
        for name in ("userId", "activityProgress", "gradingProgress", "timestamp"):
            if name not in score:
                return self._json({"error": f"{name} required"}, 400)
        score["lineItem"] = item_id
        self.scores.append(score)
        return Response(status=204)

    def memberships(self, request: Request) -> Response:
        denied = self._bearer(request, NRPS_SCOPE)
        if denied:
            return denied
        page = int(request.args.get("Page", 1))
        size = self.members_page_size
        chunk = self.members[(page - 1) * size:page * size]
        headers = {}
        if page * size < len(self.members):
            # an upper-case path and query: a client that lowercases it gets a 404
            headers["Link"] = f'<{self.memberships_url}?Page={page + 1}&Token=AbC>; rel="next"'
        body = {"id": request.url, "context": self.context, "members": chunk}
        return self._json(body, headers=headers, mimetype="application/vnd.ims.lti-nrps.v2.membershipcontainer+json")

    def openid_configuration(self, request: Request) -> Response:
        return self._json({
            "issuer": self.issuer, "authorization_endpoint": self.auth_url, "token_endpoint": self.token_url,
            "jwks_uri": self.jwks_url, "registration_endpoint": self.origin + "/Register",
            "scopes_supported": ["openid", SCORE_SCOPE, LINEITEM_SCOPE, LINEITEM_READ, NRPS_SCOPE],
            "response_types_supported": ["id_token"], "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "name", "email"],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "independent-test-platform", "version": "1.0",
                "messages_supported": [{"type": "LtiResourceLinkRequest"}, {"type": "LtiDeepLinkingRequest"}],
            },
        })

    def register(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.registration_token}":
            return self._json({"error": "bad registration token"}, 401)
        body = request.get_json(force=True)
        required = ("initiate_login_uri", "redirect_uris", "jwks_uri", "client_name",
                    "https://purl.imsglobal.org/spec/lti-tool-configuration")
        missing = [name for name in required if name not in body]
        if missing or body.get("token_endpoint_auth_method") != "private_key_jwt":
            return self._json({"error": "invalid_client_metadata", "missing": missing}, 400)
        self.registrations.append(body)
        answer = dict(body)
        answer["client_id"] = self.client_id
        answer["https://purl.imsglobal.org/spec/lti-tool-configuration"] = {
            **body["https://purl.imsglobal.org/spec/lti-tool-configuration"], "deployment_id": self.deployment_id}
        return self._json(answer)

    def deep_link_return(self, request: Request) -> Response:
        token = request.form.get("JWT", "")
        kid = jwt.get_unverified_header(token).get("kid")
        jwk = next(k for k in self.tool_jwks["keys"] if k["kid"] == kid)
        claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=self.issuer,
                            options={"require": ["iss", "aud", "exp", "iat", "nonce"]})
        self.deep_link_responses.append(claims)
        return Response("<!doctype html><title>Platform</title><h1>Content added</h1>", mimetype="text/html")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


__all__ = ["INSTRUCTOR", "LEARNER", "TestPlatform", "query_of", "urlencode"]
