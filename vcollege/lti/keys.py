"""The tool's signing keys: the `KeyPurpose.LTI` keys of `vcollege.core.keys`, published at
/lti/jwks.

Invariants:
- exactly one key signs: the active LTI key;
- a replaced key stays published for KEY_OVERLAP (the longest lifetime of our tokens plus
  the time a platform may cache our key set), then the rotation job deletes it;
- rotation is audited (by core.keys).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from vcollege.core import keys as core_keys
from vcollege.core.models import KeyPurpose, SigningKey
from vcollege.core.permissions import Actor
from vcollege.lti.platforms import LTI_MANAGE

KEY_OVERLAP = core_keys.GRACE[KeyPurpose.LTI]  # how long a replaced key stays published


def signing_key(session: Session) -> SigningKey | None:
    """The key that signs now, if one exists yet."""
    return session.scalar(
        select(SigningKey).where(SigningKey.purpose == KeyPurpose.LTI, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc()).limit(1)
    )


def ensure_signing_key(session: Session, *, now: dt.datetime) -> SigningKey:
    """The current signing key, created on first use (no audit: nothing is replaced)."""
    return core_keys.active_key(session, KeyPurpose.LTI, now)


def rotate_keys(session: Session, *, actor: Actor, now: dt.datetime) -> SigningKey:
    """Make a new signing key; the previous one stays published for KEY_OVERLAP."""
    actor.require(LTI_MANAGE)
    return core_keys.rotate_signing_key(session, KeyPurpose.LTI, now=now, actor=actor)


def published_keys(session: Session, *, now: dt.datetime) -> list[SigningKey]:
    """The keys in the JWKS: the signing key and every replaced key still in its overlap."""
    return core_keys.published_keys(session, KeyPurpose.LTI, now)


def jwks(session: Session, *, now: dt.datetime) -> dict:
    return core_keys.published_jwks(session, KeyPurpose.LTI, now)


def rotate_keys_job(session: Session, now: dt.datetime, config: dict) -> str:
    """Rotate the signing key when it is older than LTI_KEY_MAX_AGE_DAYS; drop expired keys."""
    pruned = core_keys.prune_expired_keys(session, now)
    key = signing_key(session)
    if key is None:
        ensure_signing_key(session, now=now)
        return f"created the first key; {pruned} expired key(s) deleted"
    if now - key.created_at >= dt.timedelta(days=config["LTI_KEY_MAX_AGE_DAYS"]):
        new = rotate_keys(session, actor=Actor.system("lti-key-rotation"), now=now)
        return f"rotated to {new.kid}; {pruned} expired key(s) deleted"
    return f"key {key.kid} kept; {pruned} expired key(s) deleted"
