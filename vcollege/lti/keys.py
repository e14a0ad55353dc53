"""The tool's RSA signing keys, kept in the database and published at /lti/jwks.

Invariants:
- exactly one key signs: the most recently activated one;
- a replaced key stays published until `retire_after`, set to the moment after which no
  token it signed can still be valid (the longest lifetime of our tokens, plus the time a
  platform may cache our key set), then it is deleted by the rotation job;
- rotation is audited.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from vcollege.core.audit import AuditTarget, record_audit
from vcollege.core.permissions import Actor
from vcollege.lti.models import ToolKey
from vcollege.lti.platforms import LTI_MANAGE

# Our longest-lived signed token is a deep-linking response (10 minutes); platforms cache
# key sets for up to a day. A replaced key stays published this long after rotation.
KEY_OVERLAP = dt.timedelta(days=1, minutes=10)
# A signing key older than this is rotated by the scheduled job.
KEY_MAX_AGE = dt.timedelta(days=90)


def _new_key(now: dt.datetime) -> ToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    kid = uuid.uuid4().hex
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return ToolKey(kid=kid, private_key_pem=pem, public_jwk=jwk, created_at=now, activated_at=now)


def signing_key(session: Session) -> ToolKey | None:
    return session.scalar(select(ToolKey).where(ToolKey.retire_after.is_(None)).order_by(ToolKey.activated_at.desc(), ToolKey.id.desc()))


def ensure_signing_key(session: Session, *, now: dt.datetime) -> ToolKey:
    """The current signing key, created on first use (no audit: nothing is replaced)."""
    key = signing_key(session)
    if key is None:
        key = _new_key(now)
        session.add(key)
        session.flush()
    return key


def rotate_keys(session: Session, *, actor: Actor, now: dt.datetime) -> ToolKey:
    """Make a new signing key; the previous ones stay published for KEY_OVERLAP."""
    actor.require(LTI_MANAGE)
    previous = list(session.scalars(select(ToolKey).where(ToolKey.retire_after.is_(None))))
    for key in previous:
        key.retire_after = now + KEY_OVERLAP
    key = _new_key(now)
    session.add(key)
    session.flush()
    record_audit(session, actor, "lti.keys_rotated", AuditTarget("lti_tool_keys", key.kid), now=now,
                 detail={"new_kid": key.kid, "retiring": [k.kid for k in previous]})
    return key


def published_keys(session: Session, *, now: dt.datetime) -> list[ToolKey]:
    """The keys in the JWKS: the signing key and every key not yet past retirement."""
    return list(session.scalars(
        select(ToolKey).where(or_(ToolKey.retire_after.is_(None), ToolKey.retire_after > now))
        .order_by(ToolKey.activated_at.desc(), ToolKey.id.desc())
    ))


def jwks(session: Session, *, now: dt.datetime) -> dict:
    return {"keys": [key.public_jwk for key in published_keys(session, now=now)]}


def prune_retired_keys(session: Session, *, now: dt.datetime) -> int:
    """Delete keys past retirement; no valid token can carry their signature."""
    result = session.execute(delete(ToolKey).where(ToolKey.retire_after.is_not(None), ToolKey.retire_after <= now))
    return result.rowcount or 0


def rotate_keys_job(session: Session, now: dt.datetime, config: dict) -> str:
    """Rotate the signing key when it is older than KEY_MAX_AGE; drop retired keys."""
    pruned = prune_retired_keys(session, now=now)
    key = signing_key(session)
    max_age = dt.timedelta(days=config.get("LTI_KEY_MAX_AGE_DAYS", KEY_MAX_AGE.days))
    if key is None:
        ensure_signing_key(session, now=now)
        return f"created the first key; {pruned} retired key(s) deleted"
    if now - key.activated_at >= max_age:
        new = rotate_keys(session, actor=Actor.system("lti-key-rotation"), now=now)
        return f"rotated to {new.kid}; {pruned} retired key(s) deleted"
    return f"key {key.kid} kept; {pruned} retired key(s) deleted"
