"""The JSON API's shared plumbing: the flask-smorest `Api`, token auth, pagination.

Every endpoint under `/api/v1` declares the permission it needs with `@protected(blp, ...)`;
that both enforces it (401 without credentials, 403 without the scope, as problem documents)
and documents it in the OpenAPI document.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from flask import Flask, g, request, send_from_directory, url_for
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from vcollege.auth import current_actor
from vcollege.errors import Unauthorized
from vcollege.extensions import csrf, db


class VCollegeApi(Api):
    """flask-smorest's Api, minus its own error handlers: `errors.py` answers every error."""

    def _register_error_handlers(self):
        pass


api = VCollegeApi()


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    code = fields.String()
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict()


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class PaginationSchema(Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


_page_schemas: dict[str, type[Schema]] = {}


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The schema of one page of `item_schema` items: `{items: [...], pagination: {...}}`."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    if name not in _page_schemas:
        _page_schemas[name] = type(name, (Schema,), {
            "items": fields.List(fields.Nested(item_schema)),
            "pagination": fields.Nested(PaginationSchema),
        })
    return _page_schemas[name]


@dataclass
class Page:
    items: Sequence[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def pagination(self) -> dict[str, int]:
        return {"page": self.page, "per_page": self.per_page, "total": self.total, "pages": self.pages}

    def link_header(self, endpoint: str, **args) -> str:
        links = []
        def link(page: int, rel: str):
            links.append(f'<{url_for(endpoint, _external=True, **args, page=page, per_page=self.per_page)}>; rel="{rel}"')
        link(1, "first")
        if self.page > 1:
            link(self.page - 1, "prev")
        if self.page < self.pages:
            link(self.page + 1, "next")
        link(self.pages, "last")
        return ", ".join(links)


def paginate_query(session: Session, query: Select, page: int, per_page: int) -> Page:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, per_page, total)


def paginate_list(items: Sequence[Any], page: int, per_page: int) -> Page:
    start = (page - 1) * per_page
    return Page(list(items[start:start + per_page]), page, per_page, len(items))


def paged_response(page: Page, endpoint: str, args: dict[str, Any]) -> tuple[dict, int, dict]:
    """The body, status and Link header of one page; `args` are the request's filters."""
    keep = {k: v for k, v in args.items() if k not in {"page", "per_page"} and v is not None}
    keep = {k: (v.isoformat() if hasattr(v, "isoformat") else str(v)) for k, v in keep.items()}
    return {"items": page.items, "pagination": page.pagination}, 200, {"Link": page.link_header(endpoint, **keep)}


def protected(blp: Blueprint, permission: str | None) -> Callable:
    """Enforce and document the credentials of an API endpoint (`None`: any signed-in caller)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            actor = current_actor()
            if actor.token is None and actor.person is None:
                raise Unauthorized("Send an API token as `Authorization: Bearer ...`.")
            if actor.token is None and request.method not in {"GET", "HEAD", "OPTIONS"}:
                csrf.protect()  # a browser session writing through the API needs the CSRF header
            if permission is not None:
                actor.require(permission)
            return view(*args, **kwargs)

        described = f"Needs the scope `{permission}`." if permission else "Needs a signed-in learner session or a token."
        wrapper = blp.doc(security=[{"bearerAuth": []}, {"session": []}], description=described)(wrapper)
        wrapper = blp.alt_response(401, schema=ProblemSchema, description="No or bad credentials")(wrapper)
        wrapper = blp.alt_response(403, schema=ProblemSchema, description="Missing permission")(wrapper)
        return wrapper

    return decorator


def register_api(app: Flask, blueprints: Sequence[Blueprint]) -> None:
    api.init_app(app, spec_kwargs={"info": {"description": "The vcollege JSON API. Authenticate with an API token (`vcollege tokens create`) as `Authorization: Bearer <token>`."}})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "vcollege_session"})
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # token calls; session writes are checked in `protected`

    @app.after_request
    def record_token_use(response):
        """A read-only API call has no commit of its own: the token's `last_used_at` is the
        request's one commit. Writing calls commit it with their own work; a failed call
        commits nothing."""
        if g.get("token_touched") and request.method in {"GET", "HEAD"} and response.status_code < 400:
            db.session.commit()
        return response

    static_dir = Path(swagger_ui_bundle.swagger_ui_path)

    @app.route("/api/docs/static/<path:filename>")
    def swagger_static(filename: str):
        return send_from_directory(static_dir, filename)
