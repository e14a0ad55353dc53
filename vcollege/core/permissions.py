"""Permissions, the roles that hold them, and the actor every service is told about.

Invariants:
- a permission is a string `noun:verb` defined once, here or by the area that owns it;
- the Secretariat holds every permission; learners and trainers hold those listed for them;
- an API token holds exactly its scopes, and only permissions marked as token scopes can be
  scopes;
- a session opened by an LMS launch holds only the permissions of its roles that are marked
  `lms=True` (reading the catalogue, say): an LMS decides who is an instructor in its own
  courses, so powers over other people's records (enrolments, waivers, scores) need a staff
  sign-in, or a check scoped to the LMS context (the LTI area's pages do that);
- no LMS launch ever yields the Secretariat role (`roles:grant-secretariat` is never a token
  scope and LTI actors are built without it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vcollege.core.models import ApiToken, Person, Role
from vcollege.errors import Forbidden


@dataclass(frozen=True)
class Permission:
    name: str
    description: str
    roles: frozenset[Role]
    token_scope: bool
    lms: bool


PERMISSIONS: dict[str, Permission] = {}


def define_permission(
    name: str, description: str, *, roles: tuple[Role, ...] = (), token_scope: bool = False, lms: bool = False
) -> str:
    """Declare a permission once; redefining it differently is a programming error."""
    permission = Permission(name, description, frozenset(roles) | {Role.SECRETARIAT}, token_scope, lms)
    existing = PERMISSIONS.get(name)
    if existing is not None and existing != permission:
        raise RuntimeError(f"permission {name} defined twice, differently")
    PERMISSIONS[name] = permission
    return name


PARTIES_READ = define_permission(
    "parties:read", "Read the Parties and their priority categories",
    roles=(Role.TRAINER,), token_scope=True,
)
PARTIES_MANAGE = define_permission(
    "parties:manage", "Load Parties and mark compliance procedures"
)
PEOPLE_READ = define_permission(
    "people:read", "Read people's profiles", roles=(Role.TRAINER,), token_scope=True
)
PEOPLE_MANAGE = define_permission("people:manage", "Create and change people and staff accounts")
ROLES_GRANT = define_permission("roles:grant", "Grant and revoke the learner and trainer roles")
ROLES_GRANT_SECRETARIAT = define_permission(
    "roles:grant-secretariat", "Grant and revoke the Secretariat role"
)
AUDIT_READ = define_permission("audit:read", "Read the audit log", token_scope=True)
TOKENS_MANAGE = define_permission("tokens:manage", "Create and revoke API tokens")
JOBS_READ = define_permission("jobs:read", "See the scheduler and its job runs", token_scope=True)


def permissions_for_roles(roles: set[Role]) -> frozenset[str]:
    return frozenset(p.name for p in PERMISSIONS.values() if p.roles & roles)


def token_scopes() -> list[str]:
    return sorted(p.name for p in PERMISSIONS.values() if p.token_scope)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a person (web, LTI), a token (API), the CLI operator or the system."""

    label: str
    person: Person | None = None
    token: ApiToken | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    everything: bool = False

    @property
    def person_id(self) -> int | None:
        return self.person.id if self.person is not None else None

    def can(self, permission: str) -> bool:
        return self.everything or permission in self.permissions

    def require(self, permission: str) -> None:
        """Raise Forbidden unless the actor holds `permission`."""
        if permission not in PERMISSIONS:
            raise RuntimeError(f"unknown permission {permission}")
        if not self.can(permission):
            raise Forbidden(f"This needs the permission {permission}.", permission=permission)

    @classmethod
    def for_person(cls, person: Person, *, via: str = "web") -> Actor:
        return cls(
            label=f"{via}:{person.id}:{person.name}",
            person=person,
            permissions=permissions_for_roles(person.role_names),
        )

    @classmethod
    def for_lti(cls, person: Person, issuer: str) -> Actor:
        """A person acting through an LMS launch: never with Secretariat powers, and only with
        the permissions marked safe for LMS sessions."""
        roles = person.role_names - {Role.SECRETARIAT}
        allowed = frozenset(p for p in permissions_for_roles(roles) if PERMISSIONS[p].lms)
        return cls(label=f"lti:{issuer}:{person.id}", person=person, permissions=allowed)

    @classmethod
    def for_token(cls, token: ApiToken) -> Actor:
        return cls(label=f"token:{token.prefix}:{token.name}", token=token,
                   permissions=frozenset(token.scopes))

    @classmethod
    def operator(cls, label: str = "cli") -> Actor:
        """Whoever runs the `vcollege` command on the server holds every permission."""
        return cls(label=label, everything=True)

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(label=f"system:{label}", everything=True)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(label="anonymous")
