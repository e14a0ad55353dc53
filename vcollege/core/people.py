"""People and their roles.

Invariants:
- a person holds each role at most once; granting it again changes nothing;
- only an actor with `roles:grant-secretariat` (the CLI operator or a Secretariat officer)
  grants or revokes the Secretariat role; an LMS never can;
- every creation and role change is audited.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from vcollege import events
from vcollege.core.audit import record_audit
from vcollege.core.models import Agency, Person, PersonRole, Role
from vcollege.core.parties import get_party
from vcollege.core.permissions import PEOPLE_MANAGE, ROLES_GRANT, ROLES_GRANT_SECRETARIAT, Actor
from vcollege.errors import Conflict, NotFound


def create_person(
    session: Session,
    *,
    name: str,
    actor: Actor,
    now: dt.datetime,
    email: str | None = None,
    preferred_language: str | None = None,
    party: str | None = None,
    agency: Agency | None = None,
    job_title: str | None = None,
    roles: tuple[Role, ...] = (Role.LEARNER,),
    audit: bool = True,
) -> Person:
    """Create a person with their roles; `party` is an ISO2 code that must exist."""
    person = Person(
        name=name.strip(),
        email=email.strip().lower() if email else None,
        preferred_language=preferred_language,
        party=get_party(session, party) if party else None,
        agency=agency,
        job_title=job_title,
        created_at=now,
        updated_at=now,
    )
    session.add(person)
    session.flush()
    if audit:
        record_audit(session, actor, "person.created", person, now=now,
                     detail={"party": party, "agency": str(agency) if agency else None})
    for role in roles:
        grant_role(session, person, role, actor=actor, now=now, audit=audit)
    events.person_created.send("core", session=session, now=now, person=person, actor=actor)
    return person


_PROFILE_FIELDS = ("name", "email", "preferred_language", "agency", "job_title")


def update_person(session: Session, person: Person, *, actor: Actor, now: dt.datetime, **changes) -> Person:
    """Change profile fields (and the Party, by ISO2); audit what changed."""
    if actor.person_id != person.id:
        actor.require(PEOPLE_MANAGE)
    diff = {}
    for field in _PROFILE_FIELDS:
        if field in changes and getattr(person, field) != changes[field]:
            diff[field] = [_plain(getattr(person, field)), _plain(changes[field])]
            setattr(person, field, changes[field])
    if "party" in changes:
        new_party = get_party(session, changes["party"]) if changes["party"] else None
        if new_party is not person.party:
            diff["party"] = [person.party.iso2 if person.party else None, new_party.iso2 if new_party else None]
            person.party = new_party
    if diff:
        person.updated_at = now
        record_audit(session, actor, "person.updated", person, now=now, detail=diff)
    return person


def _plain(value):
    return str(value) if value is not None else None


def _require_role_power(actor: Actor, role: Role) -> None:
    actor.require(ROLES_GRANT_SECRETARIAT if role == Role.SECRETARIAT else ROLES_GRANT)


def grant_role(
    session: Session,
    person: Person,
    role: Role,
    *,
    actor: Actor,
    now: dt.datetime,
    reason: str | None = None,
    audit: bool = True,
) -> bool:
    """Give `role` to `person`; True if it was new. The Secretariat role needs that power."""
    _require_role_power(actor, role)
    if person.has_role(role):
        return False
    person.roles.append(PersonRole(role=role, granted_at=now, granted_by_id=actor.person_id))
    session.flush()
    if audit:
        record_audit(session, actor, "person.role_granted", person, now=now, reason=reason, detail={"role": str(role)})
    events.role_changed.send("core", session=session, now=now, person=person, role=role, granted=True)
    return True


def revoke_role(
    session: Session, person: Person, role: Role, *, actor: Actor, now: dt.datetime, reason: str | None = None
) -> bool:
    """Take `role` from `person`; True if they held it. A person keeps at least one role."""
    _require_role_power(actor, role)
    held = [r for r in person.roles if r.role == role]
    if not held:
        return False
    if len(person.roles) == 1:
        raise Conflict(f"{person.name} would be left without any role.", errors={"role": ["Last role."]})
    person.roles.remove(held[0])
    session.flush()
    record_audit(session, actor, "person.role_revoked", person, now=now, reason=reason, detail={"role": str(role)})
    events.role_changed.send("core", session=session, now=now, person=person, role=role, granted=False)
    return True


def get_person(session: Session, person_id: int) -> Person:
    """The person with this id, or NotFound."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person {person_id}.")
    return person


def find_people_by_email(session: Session, email: str) -> list[Person]:
    return list(session.scalars(select(Person).where(func.lower(Person.email) == email.strip().lower())))


def people_query(*, role: Role | None = None, q: str | None = None) -> Select[tuple[Person]]:
    """People by name, holding `role`, whose name or e-mail contains `q` (literally)."""
    query = select(Person).options(selectinload(Person.party)).order_by(Person.name)
    if role:
        query = query.where(Person.roles.any(PersonRole.role == role))
    if q:
        query = query.where(Person.name.icontains(q, autoescape=True) | Person.email.icontains(q, autoescape=True))
    return query
