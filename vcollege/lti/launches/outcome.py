"""What a verified launch changes: the person, the LMS context, the resource link and who
launched it with which roles, and the learner's enrolment.

Invariants:
- a person is found by (issuer, subject), never by e-mail alone; a launch refreshes their
  name and e-mail, and sets their language only when they have none (their own choice wins);
- roles are granted, never revoked, and never the Secretariat role; a trainer role from an
  LMS carries no global power (LMS sessions hold only `lms=True` permissions);
- only a launch with the LIS Learner role (context or institution) enrols; Mentor, Observer,
  Administrator and other roles are not learners;
- each launch of a resource link records, for that link, whether the person launched it as
  a learner and as an instructor (an instructor of the link may see its learners);
- each launch of a resource link replaces the link's grade service with what its own AGS
  claim gives (line item, line items URL, scopes): a launch without the claim clears it, and
  the context keeps none (one activity's grade service is never another's).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from vcollege.catalogue.service import find_course
from vcollege.core.audit import record_audit
from vcollege.core.models import Person, Role
from vcollege.core.people import create_person, grant_role, update_person
from vcollege.core.permissions import PEOPLE_MANAGE, ROLES_GRANT, Actor
from vcollege.errors import Conflict, Forbidden, NotFound, VCollegeError
from vcollege.learning.models import EnrolmentSource
from vcollege.learning.service import enrol_learner
from vcollege.lti.claims import (
    AGS_ENDPOINT,
    CONTEXT,
    CUSTOM,
    DEPLOYMENT_ID,
    LAUNCH_PRESENTATION,
    NRPS,
    RESOURCE_LINK,
    RESOURCE_LINK_REQUEST,
    ROLES,
    map_roles,
)
from vcollege.lti.errors import UnknownDeployment
from vcollege.lti.models import (
    LtiContext,
    LtiDeployment,
    LtiIdentity,
    LtiLaunch,
    LtiResourceLink,
    LtiResourceLinkMember,
)
from vcollege.lti.platforms import find_deployment

MAX_SERVICE_URL = 1000  # the columns' length; a longer URL is taken as not given


def lti_actor(issuer: str) -> Actor:
    """The actor for writes an LMS causes: never `roles:grant-secretariat`."""
    return Actor(label=f"lti:{issuer}", permissions=frozenset({ROLES_GRANT, PEOPLE_MANAGE}))


@dataclass
class LaunchOutcome:
    person: Person
    roles: set[Role]  # what the launch's LMS roles map to (may be empty: Mentor, Observer...)
    launch: LtiLaunch
    context: LtiContext | None
    resource_link: LtiResourceLink | None
    course_slug: str | None
    language: str | None
    launch_locale: str | None = None  # any language the LMS asked for (content may exist in it)
    enrolment: Any = None
    refusal: VCollegeError | None = None  # why the learner could not be enrolled

    @property
    def learner(self) -> bool:
        return Role.LEARNER in self.roles

    @property
    def instructor(self) -> bool:
        return Role.TRAINER in self.roles


def _launch_locale(body: dict) -> str | None:
    """The launch's language code (`pt`, `fr`...), whatever the interface offers."""
    locale = (body.get(LAUNCH_PRESENTATION) or {}).get("locale") or body.get("locale")
    if not isinstance(locale, str) or not locale:
        return None
    code = locale.replace("_", "-").split("-")[0].lower()
    return code if code.isalpha() and len(code) <= 3 else None


def _language(body: dict, languages: list[str]) -> str | None:
    code = _launch_locale(body)
    return code if code in languages else None


def _display_name(body: dict) -> str:
    name = body.get("name") or " ".join(p for p in (body.get("given_name"), body.get("family_name")) if p)
    return (name or "").strip()[:200] or f"LMS user {str(body.get('sub'))[:40]}"


def upsert_person(session: Session, issuer: str, body: dict, roles: set[Role], *, language: str | None,
                  now: dt.datetime) -> tuple[Person, LtiIdentity]:
    """Find the person by (issuer, subject) or create them; refresh name and e-mail, and set
    the language only when the person has none."""
    actor = lti_actor(issuer)
    subject = str(body["sub"])
    identity = session.scalar(select(LtiIdentity).where(LtiIdentity.issuer == issuer, LtiIdentity.subject == subject))
    email = body.get("email") if isinstance(body.get("email"), str) and "@" in body.get("email", "") else None
    name = _display_name(body)
    if identity is None:
        person = create_person(session, name=name, email=email, preferred_language=language,
                               roles=tuple(sorted(roles)), actor=actor, now=now)
        identity = LtiIdentity(issuer=issuer, subject=subject, person=person, created_at=now, last_launch_at=now)
        session.add(identity)
        session.flush()
        record_audit(session, actor, "lti.identity_linked", person, now=now, detail={"issuer": issuer, "subject": subject})
        return person, identity
    person = identity.person
    identity.last_launch_at = now
    changes: dict[str, Any] = {}
    if body.get("name") or body.get("given_name"):
        changes["name"] = name
    if email:
        changes["email"] = email.strip().lower()
    if language and not person.preferred_language:
        changes["preferred_language"] = language
    if changes:
        update_person(session, person, actor=actor, now=now, **changes)
    for role in roles:
        grant_role(session, person, role, actor=actor, now=now, reason=f"LTI launch from {issuer}")
    return person, identity


def upsert_context(session: Session, deployment: LtiDeployment, body: dict, *, now: dt.datetime) -> LtiContext | None:
    claim = body.get(CONTEXT) or {}
    context_id = claim.get("id") if isinstance(claim, dict) else None
    if not context_id:
        return None
    context = session.scalar(select(LtiContext).where(LtiContext.deployment_id == deployment.id,
                                                      LtiContext.context_id == str(context_id)))
    if context is None:
        context = LtiContext(deployment=deployment, context_id=str(context_id), created_at=now)
        session.add(context)
    context.label = (claim.get("label") or context.label or "")[:255] or None
    context.title = (claim.get("title") or context.title or "")[:500] or None
    context.last_launch_at = now
    nrps = body.get(NRPS) or {}
    if nrps.get("context_memberships_url"):
        context.memberships_url = nrps["context_memberships_url"]
    session.flush()
    return context


def _service_url(value: Any) -> str | None:
    if not isinstance(value, str) or not value or len(value) > MAX_SERVICE_URL:
        return None
    return value if urlsplit(value).scheme in ("http", "https") else None


def ags_claim(body: dict) -> tuple[str | None, str | None, list[str]]:
    """What the launch's AGS claim gives its resource link: (line item URL, line items URL,
    scopes); all empty when the launch carries no claim, or one with neither URL."""
    claim = body.get(AGS_ENDPOINT)
    if not isinstance(claim, dict):
        return None, None, []
    lineitem, lineitems = _service_url(claim.get("lineitem")), _service_url(claim.get("lineitems"))
    if lineitem is None and lineitems is None:
        return None, None, []
    scopes = claim.get("scope")
    return lineitem, lineitems, sorted({s for s in scopes if isinstance(s, str)}) if isinstance(scopes, list) else []


def upsert_resource_link(session: Session, deployment: LtiDeployment, context: LtiContext | None, body: dict,
                         *, now: dt.datetime) -> LtiResourceLink | None:
    claim = body.get(RESOURCE_LINK) or {}
    link_id = claim.get("id") if isinstance(claim, dict) else None
    if not link_id:
        return None
    link = session.scalar(select(LtiResourceLink).where(LtiResourceLink.deployment_id == deployment.id,
                                                        LtiResourceLink.resource_link_id == str(link_id)))
    if link is None:
        link = LtiResourceLink(deployment=deployment, resource_link_id=str(link_id), created_at=now)
        session.add(link)
    link.context = context
    link.title = (claim.get("title") or link.title or "")[:500] or None
    custom = body.get(CUSTOM) or {}
    slug = custom.get("course") if isinstance(custom, dict) else None
    if isinstance(slug, str) and slug.strip() and not slug.startswith("$"):
        link.course_slug = slug.strip()[:120]
    lineitem, lineitems, scopes = ags_claim(body)
    if lineitem is not None or lineitems is None or lineitems != link.lineitems_url:
        link.found_lineitem_url = None  # found in another container, or no longer needed
    link.lineitem_url, link.lineitems_url, link.ags_scopes = lineitem, lineitems, scopes
    link.last_launch_at = now
    session.flush()
    return link


def record_member(session: Session, link: LtiResourceLink, identity: LtiIdentity, roles: set[Role], *,
                  now: dt.datetime) -> LtiResourceLinkMember:
    """Who launched the link, with the roles of their latest launch of it."""
    member = session.scalar(select(LtiResourceLinkMember).where(
        LtiResourceLinkMember.resource_link_id == link.id, LtiResourceLinkMember.identity_id == identity.id))
    if member is None:
        member = LtiResourceLinkMember(resource_link=link, identity=identity, first_launch_at=now)
        session.add(member)
    member.last_launch_at = now
    member.learner = Role.LEARNER in roles
    member.instructor = Role.TRAINER in roles
    session.flush()
    return member


def enrol_from_launch(session: Session, person: Person, course_slug: str, *, launch: LtiLaunch, actor: Actor,
                      now: dt.datetime) -> tuple[Any, VCollegeError | None]:
    """Enrol a learner who launched a course link, in the course's current version (enrolling
    again returns the enrolment they have). A refusal — an unknown or retired course, a course
    restricted to officials — does not undo the launch: the person, context and link stay
    recorded, and the learner is told why."""
    course = find_course(session, course_slug)
    if course is None or course.current_version is None:
        return None, NotFound(f"The LMS link points to the course {course_slug!r}, which the catalogue does not have.",
                              errors={"course": ["Unknown course."]})
    try:
        with session.begin_nested():
            enrolment = enrol_learner(session, person, course.current_version, source=EnrolmentSource.LTI,
                                      actor=actor, now=now)
    except (Forbidden, Conflict) as refusal:
        return None, refusal
    return enrolment, None


def complete_launch(session: Session, launch: LtiLaunch, *, languages: list[str], now: dt.datetime) -> LaunchOutcome:
    """Create or update the person, the context and the resource link of a validated launch,
    and enrol a learner (only a learner) in the linked course."""
    body = launch.launch_data or {}
    platform = launch.platform
    deployment = find_deployment(session, platform, body.get(DEPLOYMENT_ID))
    if deployment is None:  # removed between launch and confirmation
        raise UnknownDeployment("The deployment is no longer registered.")
    roles = map_roles(body.get(ROLES) or [])
    language = _language(body, languages)
    person, identity = upsert_person(session, platform.issuer, body, roles, language=language, now=now)
    context = upsert_context(session, deployment, body, now=now)
    link = None
    if launch.message_type == RESOURCE_LINK_REQUEST:
        link = upsert_resource_link(session, deployment, context, body, now=now)
        if link is not None:
            record_member(session, link, identity, roles, now=now)
    launch.person = person
    launch.resource_link = link
    session.flush()
    outcome = LaunchOutcome(person, roles, launch, context, link,
                            link.course_slug if link is not None else None, language, _launch_locale(body))
    if link is not None and link.course_slug and outcome.learner:
        outcome.enrolment, outcome.refusal = enrol_from_launch(
            session, person, link.course_slug, launch=launch, actor=lti_actor(platform.issuer), now=now)
    return outcome
