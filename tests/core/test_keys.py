import datetime as dt

import jwt
import pytest
from sqlalchemy import select

from tests.conftest import NOW
from vcollege.core.keys import (
    active_key,
    prune_expired_keys,
    published_jwks,
    rotate_signing_key,
    sign,
)
from vcollege.core.models import AuditEntry, KeyPurpose


def _verify(token: str, jwks: dict) -> dict:
    """Verify with nothing but the published key set, as a platform or a verifier would."""
    kid = jwt.get_unverified_header(token)["kid"]
    matching = [k for k in jwks["keys"] if k["kid"] == kid]
    if not matching:
        raise LookupError(kid)
    key = jwt.PyJWK(matching[0]).key
    return jwt.decode(token, key, algorithms=["RS256"], options={"verify_aud": False})


def test_first_use_creates_one_key_per_purpose(session):
    lti = active_key(session, KeyPurpose.LTI, NOW)
    credentials = active_key(session, KeyPurpose.CREDENTIALS, NOW)
    assert lti.kid != credentials.kid
    assert active_key(session, KeyPurpose.LTI, NOW) is lti
    assert [k["kid"] for k in published_jwks(session, KeyPurpose.LTI, NOW)["keys"]] == [lti.kid]
    jwk = published_jwks(session, KeyPurpose.LTI, NOW)["keys"][0]
    assert jwk["kty"] == "RSA" and jwk["use"] == "sig" and "d" not in jwk  # public only


def test_signed_tokens_verify_against_the_published_set(session):
    token = sign(session, KeyPurpose.CREDENTIALS, {"sub": "learner", "iat": 1}, now=NOW)
    assert _verify(token, published_jwks(session, KeyPurpose.CREDENTIALS, NOW))["sub"] == "learner"
    with pytest.raises(LookupError):  # the LTI set does not hold credential keys
        _verify(token, published_jwks(session, KeyPurpose.LTI, NOW))


def test_rotation_keeps_the_old_key_published_for_the_grace(session, operator):
    old_token = sign(session, KeyPurpose.LTI, {"n": 1}, now=NOW)
    old = active_key(session, KeyPurpose.LTI, NOW)
    new = rotate_signing_key(session, KeyPurpose.LTI, now=NOW, actor=operator)
    assert active_key(session, KeyPurpose.LTI, NOW) is new
    new_token = sign(session, KeyPurpose.LTI, {"n": 2}, now=NOW)
    assert jwt.get_unverified_header(new_token)["kid"] == new.kid
    during = published_jwks(session, KeyPurpose.LTI, NOW + dt.timedelta(hours=24))
    assert _verify(old_token, during)["n"] == 1 and _verify(new_token, during)["n"] == 2
    after = published_jwks(session, KeyPurpose.LTI, NOW + dt.timedelta(days=1, minutes=10, seconds=1))
    assert [k["kid"] for k in after["keys"]] == [new.kid]
    with pytest.raises(LookupError):
        _verify(old_token, after)
    assert prune_expired_keys(session, NOW + dt.timedelta(days=2)) == 1
    assert session.get(type(old), old.id) is None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "keys.rotated"))
    assert entry.detail["retired"] == [old.kid]


def test_credential_keys_stay_published_for_ever(session, operator):
    token = sign(session, KeyPurpose.CREDENTIALS, {"badge": 1}, now=NOW)
    rotate_signing_key(session, KeyPurpose.CREDENTIALS, now=NOW, actor=operator)
    years_later = NOW + dt.timedelta(days=3650)
    assert prune_expired_keys(session, years_later) == 0
    assert _verify(token, published_jwks(session, KeyPurpose.CREDENTIALS, years_later))["badge"] == 1
