"""The development LMS at /dev/lms: a small LTI 1.3 platform inside the app, so a newcomer
sees the whole flow (OIDC login, signed id_token, deep linking, AGS scores received) without
installing an LMS.

Registered only when ENV is development or demo (see `register_blueprints`); production
never serves it. It keeps its own RSA key in `instance/dev-lms-key.pem` and what it
receives (line items, scores, linked activities) in memory: it is a demonstration, not a
platform to rely on. Its checks are real: the tool's client assertion and deep-linking
response are verified with the tool's published key set.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select

from vcollege.core.models import Person, Role
from vcollege.extensions import csrf, db, utcnow
from vcollege.lti.claims import AGS_LINEITEM, AGS_LINEITEM_READONLY, AGS_SCORE
from vcollege.lti.keys import jwks as tool_jwks

DEV_CLIENT_ID = "vcollege-dev-tool"
DEV_DEPLOYMENT_ID = "dev-deployment-1"
DEV_CONTEXT = {"id": "dev-course-1", "label": "DEV-101", "title": "Development course"}
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"

bp = Blueprint("devlms", __name__, url_prefix="/dev/lms", template_folder="templates")


def _reader():
    """A session on a separate engine for the LMS's own reads.

    The tool calls these endpoints (JWKS, token, memberships) while its request or job
    holds a transaction; on SQLite every transaction takes the write lock at its start, so
    reading through the app's engine here would wait on the caller: a deadlock. A plain
    engine reads the WAL snapshot without taking the lock.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = current_app.extensions.get("vcollege.devlms.engine")
    if engine is None:
        engine = create_engine(db.engine.url)
        current_app.extensions["vcollege.devlms.engine"] = engine
    return Session(engine)


def dev_urls(base_url: str) -> dict[str, str]:
    base = base_url.rstrip("/") + "/dev/lms"
    return {"issuer": base, "auth": base + "/auth", "token": base + "/token", "jwks": base + "/jwks"}


class DevState:
    """What the development LMS holds in memory: activities, line items, scores, tokens."""

    def __init__(self):
        self.lock = threading.Lock()
        self.activities: dict[str, dict] = {}  # resource link id -> {title, course, lineitem}
        self.lineitems: dict[str, dict] = {}
        self.scores: list[dict] = []
        self.tokens: dict[str, float] = {}
        self.used_jti: set[str] = set()


def _state() -> DevState:
    return current_app.extensions.setdefault("vcollege.devlms", DevState())


def _key() -> tuple[str, dict]:
    path = Path(current_app.instance_path) / "dev-lms-key.pem"
    if not path.exists():
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    pem = path.read_text()
    public = serialization.load_pem_private_key(pem.encode(), password=None).public_key()
    jwk = json.loads(RSAAlgorithm.to_jwk(public))
    jwk.update({"kid": "dev-lms-" + hashlib.sha256(jwk["n"].encode()).hexdigest()[:16], "alg": "RS256", "use": "sig"})
    return pem, jwk


def _urls() -> dict[str, str]:
    base = current_app.config["BASE_URL"].rstrip("/")
    return {**dev_urls(base), "login": base + url_for("lti.login"), "launch": base + url_for("lti.launch"),
            "lineitems": base + url_for("devlms.lineitems"), "memberships": base + url_for("devlms.memberships"),
            "return": base + url_for("devlms.deep_link_return")}


def _people(session=None) -> list[Person]:
    session = session or db.session
    return list(session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.name).limit(100)))


def _catalogue_activities(state: DevState) -> None:
    """One ready-made activity per course of the catalogue, so that a newcomer can launch a
    learner at once; instructors add more by deep linking."""
    from vcollege.catalogue.service import list_courses, localized

    with state.lock:
        for version in list_courses(db.session):
            slug = version.course.slug
            state.activities.setdefault(f"dev-course-{slug}", {
                "title": localized(version.title, "en")[1], "course": slug, "lineitem": None,
            })


@bp.get("")
def home():
    state = _state()
    _catalogue_activities(state)
    return render_template("lti/devlms.html", people=_people(), activities=state.activities, scores=state.scores,
                           lineitems=state.lineitems, urls=_urls(), registered=_registered())


def _registered() -> bool:
    from vcollege.lti.platforms import find_platform

    found = find_platform(db.session, _urls()["issuer"], DEV_CLIENT_ID)
    return found is not None and found.status == "active"


@bp.post("/activities")
@csrf.exempt
def add_activity():
    slug = (request.form.get("course") or "").strip()
    if not slug:
        abort(422)
    link_id = "dev-link-" + uuid.uuid4().hex[:8]
    _state().activities[link_id] = {"title": request.form.get("title") or slug, "course": slug, "lineitem": None}
    return home()


@bp.get("/start")
def start():
    """Begin a launch: the tool's login initiation, as an LMS would send the browser there."""
    urls = _urls()
    person_id = request.args.get("person", "")
    role = request.args.get("role", "Learner")
    activity = request.args.get("activity", "")
    params = {"iss": urls["issuer"], "login_hint": f"{person_id}:{role}", "target_link_uri": urls["launch"],
              "lti_message_hint": activity or "deep-link", "client_id": DEV_CLIENT_ID,
              "lti_deployment_id": DEV_DEPLOYMENT_ID}
    return Response(status=302, headers={"Location": urls["login"] + "?" + urlencode(params)})


@bp.route("/auth", methods=["GET", "POST"])
@csrf.exempt
def auth():
    """The OIDC authorisation endpoint: check the tool's request, answer with a signed id_token."""
    urls = _urls()
    values = request.values
    expected = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
                "client_id": DEV_CLIENT_ID, "redirect_uri": urls["launch"]}
    wrong = [k for k, v in expected.items() if values.get(k) != v]
    if wrong or not values.get("nonce") or not values.get("state"):
        return Response(f"Bad authorisation request: {', '.join(wrong) or 'nonce/state missing'}", 400)
    person_id, _, role = (values.get("login_hint") or "").partition(":")
    person = db.session.get(Person, int(person_id)) if person_id.isdigit() else None
    if person is None:
        return Response("Unknown login_hint", 400)
    hint = values.get("lti_message_hint") or "deep-link"
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": urls["issuer"], "aud": DEV_CLIENT_ID, "sub": f"dev-{person.id}", "iat": now, "exp": now + 300,
        "nonce": values["nonce"], "name": person.name, "email": person.email,
        LTI + "version": "1.3.0", LTI + "deployment_id": DEV_DEPLOYMENT_ID,
        LTI + "roles": [LIS + ("Instructor" if role == "Instructor" else "Learner")],
        LTI + "context": DEV_CONTEXT, LTI + "target_link_uri": urls["launch"],
        LTI + "launch_presentation": {"locale": person.preferred_language or "en", "document_target": "iframe"},
        "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
            "context_memberships_url": urls["memberships"], "service_versions": ["2.0"]},
    }
    if hint == "deep-link":
        claims[LTI + "message_type"] = "LtiDeepLinkingRequest"
        claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
            "deep_link_return_url": urls["return"], "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"], "accept_multiple": True,
            "data": secrets.token_hex(8),
        }
    else:
        activity = _state().activities.get(hint)
        if activity is None:
            return Response("Unknown activity", 400)
        claims[LTI + "message_type"] = "LtiResourceLinkRequest"
        claims[LTI + "resource_link"] = {"id": hint, "title": activity["title"]}
        claims[LTI + "custom"] = {"course": activity["course"]}
        ags = {"scope": [AGS_LINEITEM, AGS_LINEITEM_READONLY, AGS_SCORE], "lineitems": urls["lineitems"]}
        if activity.get("lineitem"):
            ags["lineitem"] = activity["lineitem"]
        claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = ags
    pem, jwk = _key()
    token = jwt.encode(claims, pem, algorithm="RS256", headers={"kid": jwk["kid"]})
    return render_template("lti/devlms_post.html", action=values["redirect_uri"], id_token=token, state=values["state"])


@bp.get("/jwks")
def jwks():
    return jsonify({"keys": [_key()[1]]})


def _verify_tool_jwt(token: str, audience: str) -> dict:
    with _reader() as session:
        keys = tool_jwks(session, now=utcnow())["keys"]
    kid = jwt.get_unverified_header(token).get("kid")
    jwk = next((k for k in keys if k["kid"] == kid), None)
    if jwk is None:
        raise jwt.InvalidTokenError("unknown tool key")
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=audience,
                      options={"require": ["iss", "aud", "exp", "iat"]})


@bp.post("/token")
@csrf.exempt
def token():
    urls = _urls()
    state = _state()
    try:
        claims = _verify_tool_jwt(request.form.get("client_assertion", ""), urls["token"])
    except jwt.PyJWTError as exc:
        return jsonify({"error": "invalid_client", "error_description": str(exc)}), 401
    if claims.get("sub") != DEV_CLIENT_ID or claims.get("jti") in state.used_jti:
        return jsonify({"error": "invalid_client"}), 401
    state.used_jti.add(claims.get("jti"))
    value = "dev-" + secrets.token_hex(16)
    state.tokens[value] = time.time() + 3600
    return jsonify({"access_token": value, "token_type": "Bearer", "expires_in": 3600, "scope": request.form.get("scope", "")})


def _authorised() -> bool:
    header = request.headers.get("Authorization", "")
    expiry = _state().tokens.get(header.removeprefix("Bearer "))
    return header.startswith("Bearer ") and expiry is not None and expiry > time.time()


@bp.route("/lineitems", methods=["GET", "POST"])
@csrf.exempt
def lineitems():
    if not _authorised():
        return jsonify({"error": "invalid_token"}), 401
    state = _state()
    if request.method == "POST":
        body = request.get_json(force=True)
        item_id = f"item-{len(state.lineitems) + 1}"
        body["id"] = _urls()["lineitems"] + "/" + item_id
        state.lineitems[item_id] = body
        return jsonify(body), 201
    items = list(state.lineitems.values())
    if request.args.get("resource_id"):
        items = [i for i in items if i.get("resourceId") == request.args["resource_id"]]
    return jsonify(items)


@bp.post("/lineitems/<item_id>/scores")
@csrf.exempt
def scores(item_id: str):
    if not _authorised():
        return jsonify({"error": "invalid_token"}), 401
    state = _state()
    if item_id not in state.lineitems:
        return jsonify({"error": "unknown line item"}), 404
    score = request.get_json(force=True)
    score["lineitem"] = state.lineitems[item_id].get("label") or item_id
    state.scores.append(score)
    return Response(status=204)


@bp.get("/memberships")
def memberships():
    if not _authorised():
        return jsonify({"error": "invalid_token"}), 401
    with _reader() as session:
        members = [{"user_id": f"dev-{p.id}", "name": p.name, "email": p.email, "status": "Active",
                    "roles": [LIS + ("Instructor" if p.has_role(Role.TRAINER) else "Learner")]} for p in _people(session)]
    return jsonify({"id": request.url, "context": DEV_CONTEXT, "members": members})


@bp.post("/deep-link-return")
@csrf.exempt
def deep_link_return():
    urls = _urls()
    try:
        claims = _verify_tool_jwt(request.form.get("JWT", ""), urls["issuer"])
    except jwt.PyJWTError as exc:
        return Response(f"The deep-linking response does not verify: {exc}", 400)
    state = _state()
    added = []
    for item in claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items", []):
        if item.get("type") != "ltiResourceLink":
            continue
        link_id = "dev-link-" + uuid.uuid4().hex[:8]
        course = (item.get("custom") or {}).get("course", "")
        lineitem = None
        if item.get("lineItem"):
            item_id = f"item-{len(state.lineitems) + 1}"
            lineitem = urls["lineitems"] + "/" + item_id
            state.lineitems[item_id] = {**item["lineItem"], "id": lineitem, "resourceLinkId": link_id}
        state.activities[link_id] = {"title": item.get("title") or course, "course": course, "lineitem": lineitem}
        added.append(state.activities[link_id])
    return render_template("lti/devlms_returned.html", added=added)
