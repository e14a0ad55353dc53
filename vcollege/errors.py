"""The one error tree and the one place that turns errors into answers.

A `VCollegeError` carries its HTTP status and a stable machine code. API and LTI callers
get `application/problem+json` (RFC 9457) with the field errors; people get an error page
in their language. Anything else is logged with its traceback and answered with a plain
500 that says nothing about the internals.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class VCollegeError(Exception):
    """Base of every error the application raises on purpose."""

    status: int = 400
    code: str = "bad-request"
    title: Any = _l("The request could not be processed")

    def __init__(self, detail: str | None = None, *, errors: dict | None = None, **extra: Any):
        super().__init__(detail or str(self.title))
        self.detail = detail
        self.errors = errors or {}
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        problem: dict[str, Any] = {
            "type": f"urn:vcollege:problem:{self.code}",
            "title": str(self.title),
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            problem["detail"] = self.detail
        if instance:
            problem["instance"] = instance
        if self.errors:
            problem["errors"] = self.errors
        problem.update(self.extra)
        return problem


class InvalidInput(VCollegeError):
    status, code, title = 422, "invalid-input", _l("Some fields are not valid")

    @classmethod
    def load(cls, schema, data) -> Any:
        """`schema.load(data)`, a `ValidationError` becoming this error (422, field messages)."""
        try:
            return schema.load(data)
        except ValidationError as exc:
            raise cls.from_validation_error(exc) from None

    @classmethod
    def from_validation_error(cls, exc: ValidationError, detail: str | None = None) -> InvalidInput:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        fields = ", ".join(sorted(str(k) for k in messages))
        return cls(detail or f"Invalid fields: {fields}", errors=messages)


class BadRequest(VCollegeError):
    status, code, title = 400, "bad-request", _l("The request could not be processed")


class Unauthorized(VCollegeError):
    status, code, title = 401, "unauthorized", _l("You need to sign in")


class Forbidden(VCollegeError):
    status, code, title = 403, "forbidden", _l("You are not allowed to do this")


class NotFound(VCollegeError):
    status, code, title = 404, "not-found", _l("Not found")


class Conflict(VCollegeError):
    status, code, title = 409, "conflict", _l("This conflicts with the current state")


class TryAgain(Conflict):
    """Two changes of the same records met: this one was refused whole and may be repeated."""

    code, title = "try-again", _l("Someone changed this at the same moment; please try again")


class CsrfFailed(BadRequest):
    code, title = "csrf-failed", _l("The form has expired; reload the page and try again")


class RateLimited(VCollegeError):
    status, code, title = 429, "rate-limited", _l("Too many attempts; wait a moment")


_HTTP_CODES = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
    429: RateLimited,
}


def wants_problem_json() -> bool:
    """API paths always answer JSON; elsewhere a browser asking for HTML gets a page."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", PROBLEM_JSON])
    return best in {"application/json", PROBLEM_JSON}


def problem_response(error: VCollegeError) -> Response:
    response = jsonify(error.to_problem(instance=request.path))
    response.status_code = error.status
    response.mimetype = PROBLEM_JSON
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="vcollege"'
    return response


def render_error(error: VCollegeError) -> Response | tuple[Any, int]:
    if wants_problem_json():
        return problem_response(error)
    body = render_template("errors/error.html", error=error)
    return body, error.status


def _from_http_exception(exc: HTTPException) -> VCollegeError:
    cls = _HTTP_CODES.get(exc.code or 500)
    if exc.code == 422:
        # webargs (flask-smorest) puts the field messages on the exception
        messages = getattr(exc, "data", {}).get("messages", {})
        flat = {}
        for location_messages in messages.values():
            if isinstance(location_messages, dict):
                flat.update(location_messages)
        fields = ", ".join(sorted(str(k) for k in flat)) or "input"
        return InvalidInput(f"Invalid fields: {fields}", errors=flat)
    if cls is None:
        error = VCollegeError(exc.description)
        error.status = exc.code or 500
        error.code = (exc.name or "error").lower().replace(" ", "-")
        error.title = exc.name
        return error
    detail = exc.description if cls is not NotFound else None
    return cls(detail)


def register_error_handlers(app: Flask) -> None:
    """Every error handler of the application, in one place."""

    @app.errorhandler(VCollegeError)
    def handle_vcollege_error(exc: VCollegeError):
        return render_error(exc)

    @app.errorhandler(ValidationError)
    def handle_validation_error(exc: ValidationError):
        return render_error(InvalidInput.from_validation_error(exc))

    @app.errorhandler(CSRFError)
    def handle_csrf_error(exc: CSRFError):
        return render_error(CsrfFailed(exc.description))

    @app.errorhandler(RateLimitExceeded)
    def handle_rate_limited(exc: RateLimitExceeded):
        return render_error(RateLimited(f"Limit: {exc.description}"))

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException):
        if exc.code and exc.code < 400:
            return exc
        return render_error(_from_http_exception(exc))

    @app.errorhandler(OperationalError)
    def handle_database_busy(exc: OperationalError):
        if "database is locked" in str(exc.orig):  # SQLite: another writer held on past the busy timeout
            return render_error(TryAgain("The database is busy; please try again."))
        return handle_unexpected(exc)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        if wants_problem_json():
            response = jsonify(
                {"type": "about:blank", "title": "Internal Server Error", "status": 500}
            )
            response.status_code = 500
            response.mimetype = PROBLEM_JSON
            return response
        return Response("Internal Server Error\n", status=500, mimetype="text/plain")
