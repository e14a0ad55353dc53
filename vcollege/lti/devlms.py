"""Development LMS constants (the platform itself is added in part 9)."""

from __future__ import annotations

DEV_CLIENT_ID = "vcollege-dev-tool"
DEV_DEPLOYMENT_ID = "dev-deployment-1"


def dev_urls(base_url: str) -> dict[str, str]:
    base = base_url.rstrip("/") + "/dev/lms"
    return {"issuer": base, "auth": base + "/auth", "token": base + "/token", "jwks": base + "/jwks"}

from flask import Blueprint  # noqa: E402

bp = Blueprint("devlms", __name__, url_prefix="/dev/lms", template_folder="templates")
