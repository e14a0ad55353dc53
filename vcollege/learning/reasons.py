"""The reason a person gives for a decision about someone else (a withdrawal, a waiver, a
revocation): one rule, checked by the services and, with the same bounds, by the schemas.

A reason is kept in the audit log and shown to the Secretariat, so it must say something:
at least `REASON_MIN` characters once trimmed, at most `REASON_MAX`.
"""

from __future__ import annotations

from vcollege.errors import InvalidInput

REASON_MIN = 3
REASON_MAX = 2000


def require_reason(reason: str | None, message: str) -> str:
    """The reason trimmed, or InvalidInput on `reason` with `message` as its detail."""
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN:
        raise InvalidInput(message, errors={"reason": [f"Required ({REASON_MIN} characters or more)."]})
    if len(reason) > REASON_MAX:
        raise InvalidInput(message, errors={"reason": [f"At most {REASON_MAX} characters."]})
    return reason
