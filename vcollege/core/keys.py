"""The college's signing keys: per purpose, one active RSA key signs and superseded keys
stay published.

Invariants:
- for each purpose, exactly one key is active (not retired) once any exists;
- a retired key stays in its purpose's published key set until its `expires_at`, which
  rotation sets far enough ahead that nothing it signed that can still be presented fails to
  verify; credential keys never expire (a certificate or badge is verified years later);
- private keys never leave this module except to sign.

LTI signs its messages and client assertions with `KeyPurpose.LTI` keys (published at
`/lti/jwks`); the learning area signs Open Badges credentials with `KeyPurpose.CREDENTIALS`
keys (published with the issuer profile).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vcollege.core.audit import record_audit
from vcollege.core.models import KeyPurpose, SigningKey
from vcollege.core.permissions import Actor

KEY_SIZE = 2048

# How long a replaced key stays published. LTI: our longest-lived signed message (a
# deep-linking response, 10 minutes) plus a day of platform key-set caching. Credentials:
# for ever, since a certificate or badge is verified years after it was signed.
GRACE: dict[KeyPurpose, dt.timedelta | None] = {
    KeyPurpose.LTI: dt.timedelta(days=1, minutes=10),
    KeyPurpose.CREDENTIALS: None,
}


def _new_key(purpose: KeyPurpose, now: dt.datetime) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    kid = f"{purpose.value}-{now:%Y%m%d}-{uuid.uuid4().hex[:12]}"
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return SigningKey(purpose=purpose, kid=kid, algorithm="RS256", private_pem=pem, public_jwk=jwk, created_at=now)


def active_key(session: Session, purpose: KeyPurpose, now: dt.datetime) -> SigningKey:
    """The key that signs for `purpose` now; one is created on first use."""
    key = session.scalar(
        select(SigningKey).where(SigningKey.purpose == purpose, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc()).limit(1)
    )
    if key is None:
        key = _new_key(purpose, now)
        session.add(key)
        session.flush()
    return key


def rotate_signing_key(
    session: Session, purpose: KeyPurpose, *, now: dt.datetime, actor: Actor, reason: str | None = None
) -> SigningKey:
    """Make a new key active for `purpose`; the previous one stays published for the
    purpose's GRACE (for ever for credentials)."""
    grace = GRACE[purpose]
    previous = session.scalars(
        select(SigningKey).where(SigningKey.purpose == purpose, SigningKey.retired_at.is_(None))
    ).all()
    key = _new_key(purpose, now)
    session.add(key)
    for old in previous:
        old.retired_at = now
        old.expires_at = now + grace if grace is not None else None
    session.flush()
    record_audit(session, actor, "keys.rotated", key, now=now, reason=reason, detail={
        "purpose": purpose.value, "kid": key.kid, "retired": [k.kid for k in previous],
        "published_until": (now + grace).isoformat() if grace is not None else None,
    })
    return key


def published_keys(session: Session, purpose: KeyPurpose, now: dt.datetime) -> list[SigningKey]:
    """The active key of `purpose` and its retired keys still within their grace period."""
    active_key(session, purpose, now)
    return list(session.scalars(
        select(SigningKey)
        .where(SigningKey.purpose == purpose, or_(SigningKey.expires_at.is_(None), SigningKey.expires_at > now))
        .order_by(SigningKey.created_at.desc())
    ))


def published_jwks(session: Session, purpose: KeyPurpose, now: dt.datetime) -> dict[str, Any]:
    """The public key set of `purpose` (a JWKS document)."""
    return {"keys": [key.public_jwk for key in published_keys(session, purpose, now)]}


def sign(
    session: Session, purpose: KeyPurpose, claims: dict[str, Any], *, now: dt.datetime,
    headers: dict[str, Any] | None = None,
) -> str:
    """A compact JWS of `claims` signed with the active key of `purpose` (its `kid` in the header)."""
    key = active_key(session, purpose, now)
    return jwt.encode(claims, key.private_pem, algorithm=key.algorithm, headers={"kid": key.kid, **(headers or {})})


def prune_expired_keys(session: Session, now: dt.datetime) -> int:
    """Delete retired keys whose grace period is over; they can verify nothing any more."""
    expired = session.scalars(select(SigningKey).where(SigningKey.expires_at <= now)).all()
    for key in expired:
        session.delete(key)
    session.flush()
    return len(expired)


def key_age(session: Session, purpose: KeyPurpose, now: dt.datetime) -> dt.timedelta:
    return now - active_key(session, purpose, now).created_at
