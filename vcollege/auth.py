"""Who is asking: the edge-side half of permissions.

Pages use the Flask-Login session (a staff password login or an LTI launch); the API takes
a bearer token or, for the learner-facing endpoints, the same session. Services never see
any of this: edges build an `Actor` here and pass it in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from vcollege.core.accounts import authenticate_token
from vcollege.core.models import Person
from vcollege.core.permissions import Actor
from vcollege.errors import Forbidden, Unauthorized, wants_problem_json
from vcollege.extensions import db, login_manager, utcnow

SESSION_VIA = "vcollege_via"  # "password" or "lti:<issuer>"


def register_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_person(person_id: str) -> Person | None:
        person = db.session.get(Person, int(person_id))
        if person is None or not person.active:
            return None
        if session.get(SESSION_VIA) == "password" and (person.account is None or not person.account.active):
            return None
        return person

    @login_manager.unauthorized_handler
    def unauthorized():
        if wants_problem_json():
            raise Unauthorized("Sign in, or send an API token as `Authorization: Bearer ...`.")
        return redirect(url_for("core.login", next=_local_path(request.full_path)))


def sign_in(person: Person, *, via: str) -> None:
    """Start a session for `person`; `via` is "password" or "lti:<issuer>"."""
    session.clear()  # a fresh session on every sign-in (no fixation)
    login_user(person)
    session[SESSION_VIA] = via


def sign_out() -> None:
    logout_user()
    session.clear()


def _local_path(target: str | None) -> str | None:
    """Only same-site paths are followed after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target.rstrip("?")


safe_next = _local_path


def current_actor() -> Actor:
    """The actor of this request: token, signed-in person, or anonymous."""
    if "actor" in g:
        return g.actor
    actor = _token_actor() or _session_actor() or Actor.anonymous()
    g.actor = actor
    return actor


def _token_actor() -> Actor | None:
    header = request.headers.get("Authorization", "")
    if not header or not request.path.startswith("/api/"):
        # Pages ignore the header: a site behind HTTP basic auth must still serve them.
        return None
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer":
        return None  # Basic auth of a proxy in front of the site, say: not ours to judge
    if not raw.strip():
        raise Unauthorized("The Authorization header must be `Bearer <token>`.")
    now = utcnow()
    token = authenticate_token(db.session, raw.strip(), now=now)
    if token is None:
        raise Unauthorized("The API token is unknown, revoked or expired.")
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300:
        token.last_used_at = now  # committed with the request's own work (see api.register_api)
        g.token_touched = True
    return Actor.for_token(token)


def _session_actor() -> Actor | None:
    if not current_user.is_authenticated:
        return None
    via = session.get(SESSION_VIA, "password")
    if via.startswith("lti:"):
        return Actor.for_lti(current_user, via.removeprefix("lti:"))
    return Actor.for_person(current_user)


def require_permission(permission: str) -> Callable:
    """Page decorator: sign in first (redirect), then hold `permission` (403)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            actor = current_actor()
            if actor.person is None and actor.token is None:
                return login_manager.unauthorized()
            actor.require(permission)
            return view(*args, **kwargs)

        wrapper.required_permission = permission
        return wrapper

    return decorator


def require_sign_in(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_actor().person is None:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapper


__all__ = ["Forbidden", "current_actor", "require_permission", "require_sign_in", "sign_in", "sign_out"]
