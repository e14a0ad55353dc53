"""Security headers on every response.

The frame is allowed to this site and to whatever origins the registered `frame_ancestors`
providers return (the LTI area adds the registered platforms), so pages work inside an LMS
iframe and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, current_app, request

FrameAncestors = Callable[[], list[str]]


def add_frame_ancestors(app: Flask, provider: FrameAncestors) -> None:
    """Register a function returning extra origins allowed to frame the pages."""
    app.extensions.setdefault("vcollege.frame_ancestors", []).append(provider)


def add_form_actions(app: Flask, provider: FrameAncestors) -> None:
    """Register a function returning extra origins forms may post to (LTI responses)."""
    app.extensions.setdefault("vcollege.form_actions", []).append(provider)


def _collect(key: str) -> list[str]:
    origins: list[str] = []
    for provider in current_app.extensions.get(key, []):
        for origin in provider():
            if origin not in origins:
                origins.append(origin)
    return origins


# Swagger UI initialises itself with an inline script.
_INLINE_SCRIPT_PATHS = ("/api/docs",)


def init_security_headers(app: Flask) -> None:
    add_frame_ancestors(app, lambda: list(current_app.config.get("FRAME_ANCESTORS", [])))

    @app.after_request
    def security_headers(response: Response) -> Response:
        script_src = "'self'"
        if request.path.startswith(_INLINE_SCRIPT_PATHS):
            script_src += " 'unsafe-inline'"
        frame_ancestors = " ".join(["'self'", *_collect("vcollege.frame_ancestors")])
        form_action = " ".join(["'self'", *_collect("vcollege.form_actions")])
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            f"script-src {script_src}; object-src 'none'; base-uri 'self'; "
            f"form-action {form_action}; frame-ancestors {frame_ancestors}",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if app.config.get("COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
