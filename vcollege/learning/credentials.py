"""Credentials: the verification code of each completion, its Open Badges 3.0 credential,
and revocation.

Invariants:
- every completion gets one credential when it is recorded, with a verification code that
  is unique, unguessable (60 random bits) and easy to type (Crockford base32, no I, L, O, U:
  `7KQ2-MX9D-4HTR`), and a badge id (`urn:uuid:...`);
- the badge is an `OpenBadgeCredential` (Open Badges 3.0, W3C Verifiable Credentials Data
  Model 2.0, JSON-LD) whose content is fixed by the completion: issuing it again gives the
  same credential; it is signed as a VC-JWT (RS256) with the college's credential key,
  whose public JWK is published at the URL in the `kid` header and in the issuer's key set;
  credential keys are never unpublished, so old badges stay verifiable after a rotation;
- the JWT payload is the credential itself plus the registered claims `iss` (issuer id),
  `jti` (credential id), `sub` (subject id), `nbf` (validFrom), as Open Badges 3.0 with the
  VC Data Model 2.0 asks, and the same credential under `vc` for verifiers of the VC Data
  Model 1.1 form;
- a revoked credential stays revoked (with its date and reason) and its badge is no longer
  handed out (neither signed nor as JSON-LD); only the Secretariat revokes, with a reason,
  audited;
- revocation is visible to whoever holds a badge: its `credentialStatus` is an
  `1EdTechRevocationList` entry (Open Badges 3.0, 1EdTech Revocation List Status Method 1.0)
  naming the public list at `/credentials/status/revocations`, a JSON document built from the
  credential rows that lists every revoked credential by its badge id with `revoked` and,
  beyond the specification, `revokedAt`; it names no person and publishes no reason (the
  Secretariat's reason is free text kept in the audit log, and may name people);
- the issuer's profile names its keys (`verificationMethod`, each one's id being the `kid`
  URL of the badges it signed) and links its key set (a `service` entry to the JWKS);
- what the public verification shows is no more than the certificate shows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vcollege import events
from vcollege.catalogue.service import completion_rule, localized
from vcollege.core.audit import record_audit
from vcollege.core.keys import active_key, published_keys, sign
from vcollege.core.models import KeyPurpose
from vcollege.core.permissions import Actor
from vcollege.errors import Conflict, NotFound
from vcollege.extensions import lock_for_update, utc_timestamp
from vcollege.learning.models import Completion, Credential
from vcollege.learning.permissions import CREDENTIALS_REVOKE
from vcollege.learning.reasons import require_reason

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
ISSUER_NAME = "CITES Virtual College"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"  # 1EdTechRevocationList
REVOCATION_LIST_TYPE = "1EdTechRevocationList"
PERSON_NAMESPACE = uuid.UUID("8a4f3f0e-3b1c-5b7e-9d2a-6c1e4f0b7a21")


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(text: str) -> str:
    """A code as typed (spaces, lower case, O for 0...) in its stored form, or ''."""
    cleaned = "".join(ch for ch in (text or "").upper() if ch.isalnum())
    cleaned = cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    if len(cleaned) != 12 or any(ch not in CODE_ALPHABET for ch in cleaned):
        return ""
    return f"{cleaned[:4]}-{cleaned[4:8]}-{cleaned[8:]}"


def issue_credential(session: Session, completion: Completion, *, now: dt.datetime) -> Credential:
    """Give a completion its credential (once)."""
    if completion.credential is not None:
        return completion.credential
    while True:
        code = new_code()
        if session.scalar(select(Credential.id).where(Credential.code == code)) is None:
            break
    credential = Credential(completion=completion, code=code, badge_uuid=str(uuid.uuid4()), issued_at=now)
    session.add(credential)
    session.flush()
    return credential


def find_credential(session: Session, code: str) -> Credential | None:
    normal = normalise_code(code)
    if not normal:
        return None
    return session.scalar(select(Credential).where(Credential.code == normal))


def get_credential(session: Session, code: str) -> Credential:
    """The credential with this verification code, or NotFound."""
    credential = find_credential(session, code)
    if credential is None:
        raise NotFound("No certificate has this verification code.", errors={"code": ["Unknown code."]})
    return credential


def revoke_credential(session: Session, credential: Credential, *, reason: str, actor: Actor,
                      now: dt.datetime) -> Credential:
    """Revoke a certificate and its badge, with a reason (the Secretariat only)."""
    actor.require(CREDENTIALS_REVOKE)
    reason = require_reason(reason, "Give the reason for the revocation.")
    lock_for_update(session, Credential, credential.id)
    if credential.revoked_at is not None:
        raise Conflict(f"This credential was revoked on {credential.revoked_at:%Y-%m-%d}.",
                       errors={"code": ["Already revoked."]})
    credential.revoked_at = now
    credential.revoked_reason = reason
    credential.revoked_by_id = actor.person_id
    session.flush()
    completion = credential.completion
    record_audit(session, actor, "credential.revoked", credential, now=now, reason=reason, detail={
        "code": credential.code, "person": completion.person_id, "course": completion.course.slug,
    })
    events.credential_revoked.send("learning", session=session, now=now, completion=completion, reason=reason)
    return credential


# Open Badges 3.0 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuerUrls:
    """The public URLs of the issuer, from the college's base URL."""

    base_url: str

    @property
    def base(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def profile(self) -> str:
        return f"{self.base}/credentials/issuer"

    @property
    def jwks(self) -> str:
        return f"{self.base}/credentials/jwks.json"

    def key(self, kid: str) -> str:
        return f"{self.base}/credentials/keys/{kid}"

    def achievement(self, slug: str, number: int) -> str:
        return f"{self.base}/credentials/achievements/{slug}/{number}"

    def verify(self, code: str) -> str:
        return f"{self.base}/verify/{code}"

    @property
    def revocations(self) -> str:
        return f"{self.base}/credentials/status/revocations"



def issuer_profile(urls: IssuerUrls, keys: list[Any] = ()) -> dict[str, Any]:
    """The issuer's Open Badges `Profile` (JSON-LD), naming its published credential `keys`
    as verification methods and linking its key set."""
    methods = [{"id": urls.key(key.kid), "type": "JsonWebKey", "controller": urls.profile,
                "publicKeyJwk": key.public_jwk} for key in keys]
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": urls.profile,
        "type": ["Profile"],
        "name": ISSUER_NAME,
        "url": urls.base,
        "description": "The CITES Virtual College awards certificates and Open Badges for the courses "
                       "completed by officials of CITES authorities (Resolution Conf. 19.2 on Capacity-building).",
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
        "service": [{"id": f"{urls.profile}#jwks", "type": "JsonWebKeySet", "serviceEndpoint": urls.jwks}],
    }


def revocation_list(session: Session, urls: IssuerUrls) -> dict[str, Any]:
    """The public list of revoked badges (1EdTech Revocation List Status Method): badge ids
    and dates, oldest first; no names, no reasons."""
    rows = session.execute(
        select(Credential.badge_uuid, Credential.revoked_at)
        .where(Credential.revoked_at.is_not(None)).order_by(Credential.revoked_at, Credential.id)
    )
    return {
        "id": urls.revocations,
        "issuer": urls.profile,
        "revokedCredentials": [
            {"id": f"urn:uuid:{badge_uuid}", "revoked": True, "revokedAt": utc_timestamp(revoked_at)}
            for badge_uuid, revoked_at in rows
        ],
    }


def criteria_narrative(completion_or_version: Any) -> str:
    """The completion rule of a course version in words (English), for the achievement."""
    version = getattr(completion_or_version, "course_version", completion_or_version)
    rule = completion_rule(version)
    modules = {m.key: m for m in version.modules}
    parts = []
    names = [localized(modules[k].title, "en")[1] or k for k in rule.modules]
    parts.append(f"Complete the module{'s' if len(names) != 1 else ''} " + "; ".join(f"\"{n}\"" for n in names)
                 + " (each read, and its quiz, if any, passed at its pass mark)")
    if rule.min_score:
        parts.append(f"reach an average of at least {rule.min_score}% in their quizzes, the best attempt of each counting")
    if version.delivery.value != "online" and rule.attendance:
        parts.append(f"attend at least {rule.attendance}% of the sessions")
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + "."


def waived_module_titles(completion: Completion, language: str) -> list[str]:
    """The titles of the modules waived for a completion, in `language` (else English)."""
    modules = {m.key: m for m in completion.course_version.modules}
    return [localized(modules[key].title, language)[1] if key in modules else key
            for key in completion.waived_modules or []]


def achievement(version: Any, urls: IssuerUrls) -> dict[str, Any]:
    """The `Achievement` that completing a course version earns."""
    ident = urls.achievement(version.course.slug, version.number)
    return {
        "id": ident,
        "type": ["Achievement"],
        "achievementType": "Course",
        "name": localized(version.title, "en")[1],
        "description": localized(version.summary, "en")[1] or localized(version.title, "en")[1],
        "criteria": {"id": ident, "narrative": criteria_narrative(version)},
        "humanCode": f"{version.course.slug} v{version.number}",
        "inLanguage": "en",
        "creator": {"id": urls.profile, "type": ["Profile"], "name": ISSUER_NAME},
        "resultDescription": [{
            "id": f"{ident}#final-score",
            "type": ["ResultDescription"],
            "name": "Final score",
            "resultType": "Percent",
            "valueMin": "0",
            "valueMax": "100",
        }],
    }


def subject_id(completion: Completion, urls: IssuerUrls) -> str:
    """A stable identifier of the learner that reveals nothing about them."""
    return f"urn:uuid:{uuid.uuid5(PERSON_NAMESPACE, f'{urls.base}/people/{completion.person_id}')}"


def badge_credential(completion: Completion, urls: IssuerUrls) -> dict[str, Any]:
    """The OpenBadgeCredential of a completion (unsigned JSON-LD)."""
    credential = completion.credential
    version = completion.course_version
    person = completion.person
    identifiers = [{"type": "IdentityObject", "identityType": "name", "hashed": False,
                    "identityHash": completion.learner_name}]
    if person.email:
        salt = credential.badge_uuid.replace("-", "")[:16]
        digest = hashlib.sha256((person.email.lower() + salt).encode()).hexdigest()
        identifiers.append({"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                            "identityHash": f"sha256${digest}", "salt": salt})
    subject: dict[str, Any] = {
        "id": subject_id(completion, urls),
        "type": ["AchievementSubject"],
        "identifier": identifiers,
        "achievement": achievement(version, urls),
        "creditsEarned": float(version.hours),
        "activityEndDate": utc_timestamp(completion.completed_at),
    }
    if completion.score is not None:
        subject["result"] = [{
            "type": ["Result"],
            "resultDescription": f"{urls.achievement(version.course.slug, version.number)}#final-score",
            "value": f"{completion.score:g}",
        }]
    if completion.waived or completion.waived_modules:
        waived = "the whole course" if completion.waived else \
            "the modules " + ", ".join(f'"{title}"' for title in waived_module_titles(completion, "en"))
        subject["narrative"] = f"A trainer waived {waived} for this learner."
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT, OB_EXTENSIONS_CONTEXT],
        "id": f"urn:uuid:{credential.badge_uuid}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": urls.profile, "type": ["Profile"], "name": ISSUER_NAME, "url": urls.base},
        "validFrom": utc_timestamp(completion.completed_at),
        "name": localized(version.title, "en")[1],
        "description": f"Verification: {urls.verify(credential.code)}",
        "credentialSubject": subject,
        "credentialStatus": {"id": urls.revocations, "type": REVOCATION_LIST_TYPE},
    }


def refuse_revoked(credential: Credential) -> None:
    """A revoked credential's badge is no longer handed out: Conflict."""
    if credential.revoked:
        raise Conflict(f"This credential was revoked on {credential.revoked_at:%Y-%m-%d}.",
                       errors={"code": ["Revoked."]})


def signed_badge(session: Session, completion: Completion, urls: IssuerUrls, *, now: dt.datetime) -> str:
    """The badge as a VC-JWT signed with the active credential key (refused once revoked)."""
    credential = completion.credential
    if credential is None:
        raise NotFound("This completion has no credential.")
    refuse_revoked(credential)
    vc = badge_credential(completion, urls)
    claims = {
        **vc,
        "iss": vc["issuer"]["id"],
        "jti": vc["id"],
        "sub": vc["credentialSubject"]["id"],
        "nbf": int(completion.completed_at.timestamp()),
        "vc": vc,
    }
    key = active_key(session, KeyPurpose.CREDENTIALS, now)
    return sign(session, KeyPurpose.CREDENTIALS, claims, now=now, headers={"kid": urls.key(key.kid), "typ": "JWT"})


def public_key(session: Session, kid: str, *, now: dt.datetime) -> dict[str, Any]:
    """The published JWK of a credential key, by its kid, or NotFound."""
    for key in published_keys(session, KeyPurpose.CREDENTIALS, now):
        if key.kid == kid:
            return key.public_jwk
    raise NotFound(f"No published credential key {kid!r}.")
