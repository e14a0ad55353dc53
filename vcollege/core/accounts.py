"""Staff accounts (password login) and API tokens.

Invariants:
- passwords are stored only as salted hashes (Werkzeug's scrypt), at least 12 characters;
- a login attempt for an unknown e-mail costs the same hashing work as a known one;
- an API token's secret is shown once; only its SHA-256 hash is stored; a revoked or expired
  token authenticates nothing;
- account creation, password changes, token creation and revocation are audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from vcollege.core.audit import record_audit
from vcollege.core.models import ApiToken, Person, Role, StaffAccount
from vcollege.core.people import create_person, grant_role
from vcollege.core.permissions import PEOPLE_MANAGE, TOKENS_MANAGE, Actor, token_scopes
from vcollege.errors import Conflict, InvalidInput, NotFound

MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "vct"
_DUMMY_HASH = generate_password_hash("timing-equaliser-not-a-password")


def _normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters.",
            errors={"password": [f"Use at least {MIN_PASSWORD_LENGTH} characters."]},
        )


def create_staff_account(
    session: Session,
    *,
    email: str,
    password: str,
    name: str,
    roles: list[Role],
    actor: Actor,
    now: dt.datetime,
    person: Person | None = None,
    **profile,
) -> StaffAccount:
    """Create a staff login (and its person unless given); the e-mail must be unused."""
    actor.require(PEOPLE_MANAGE)
    email = _normalise_email(email)
    _check_password_rules(password)
    if find_account(session, email) is not None:
        raise Conflict(f"A staff account with the e-mail {email} exists already.", errors={"email": ["Already used."]})
    if person is None:
        person = create_person(session, name=name, email=email, roles=tuple(roles), actor=actor, now=now, **profile)
    else:
        for role in roles:
            grant_role(session, person, role, actor=actor, now=now)
    account = StaffAccount(
        person=person, email=email, password_hash=generate_password_hash(password),
        created_at=now, password_changed_at=now,
    )
    session.add(account)
    record_audit(session, actor, "account.created", person, now=now, detail={"email": email, "roles": [str(r) for r in roles]})
    return account


def find_account(session: Session, email: str) -> StaffAccount | None:
    return session.scalar(select(StaffAccount).where(StaffAccount.email == _normalise_email(email)))


def get_account(session: Session, email: str) -> StaffAccount:
    account = find_account(session, email)
    if account is None:
        raise NotFound(f"No staff account with the e-mail {email}.", errors={"email": ["Unknown."]})
    return account


def authenticate(session: Session, email: str, password: str, *, now: dt.datetime) -> Person | None:
    """The active person whose staff account matches, or None (same cost either way)."""
    account = find_account(session, email)
    if account is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(account.password_hash, password):
        return None
    if not (account.active and account.person.active):
        return None
    account.last_login_at = now
    return account.person


def set_password(session: Session, account: StaffAccount, password: str, *, actor: Actor, now: dt.datetime) -> None:
    """Replace a password: its owner or someone who manages people may."""
    if actor.person_id != account.person_id:
        actor.require(PEOPLE_MANAGE)
    _check_password_rules(password)
    account.password_hash = generate_password_hash(password)
    account.password_changed_at = now
    record_audit(session, actor, "account.password_changed", account.person, now=now)


def set_account_active(
    session: Session, account: StaffAccount, active: bool, *, actor: Actor, now: dt.datetime, reason: str | None = None
) -> None:
    """Enable or disable a staff login; a disabled account cannot sign in."""
    actor.require(PEOPLE_MANAGE)
    if account.active == active:
        return
    account.active = active
    record_audit(session, actor, "account.enabled" if active else "account.disabled", account.person, now=now, reason=reason)


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(
    session: Session,
    *,
    name: str,
    scopes: list[str],
    actor: Actor,
    now: dt.datetime,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token with `scopes` (each a known token scope); return it and its secret."""
    actor.require(TOKENS_MANAGE)
    allowed = token_scopes()
    unknown = sorted(set(scopes) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(allowed)}.",
            errors={"scopes": [f"Unknown scope {s}." for s in unknown]},
        )
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("The expiry must be in the future.", errors={"expires_at": ["In the past."]})
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        name=name, prefix=prefix, token_hash=_hash_token(raw), scopes=sorted(set(scopes)),
        created_at=now, created_by_id=actor.person_id, expires_at=expires_at,
    )
    session.add(token)
    record_audit(session, actor, "token.created", token, now=now, detail={"scopes": token.scopes, "prefix": prefix})
    return token, raw


def authenticate_token(session: Session, raw: str, *, now: dt.datetime) -> ApiToken | None:
    """The usable token whose secret is `raw`, or None."""
    if not raw.startswith(f"{TOKEN_PREFIX}_"):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(raw)))
    if token is None or not token.usable_at(now):
        return None
    return token


def revoke_api_token(session: Session, token: ApiToken, *, actor: Actor, now: dt.datetime, reason: str | None = None) -> bool:
    """Revoke a token at once; True if it was still active."""
    actor.require(TOKENS_MANAGE)
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    record_audit(session, actor, "token.revoked", token, now=now, reason=reason)
    return True


def get_api_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No API token {token_id}.")
    return token


def list_api_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def count_staff(session: Session) -> int:
    return session.scalar(select(func.count(StaffAccount.id))) or 0
