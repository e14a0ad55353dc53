"""What an LMS instructor sees of a resource link: the learners who launched it.

Invariants:
- only a person whose latest launch of THIS link gave them an instructor role
  (Instructor, TeachingAssistant, ContentDeveloper) sees its learners; a trainer role held
  elsewhere, from this LMS or another, grants nothing here;
- the learners are the link's members whose latest launch of it was as a learner, with
  their enrolment in the link's course and where they stand against its completion rule
  (the learning area's services); nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vcollege.catalogue.service import find_course
from vcollege.core.models import Person
from vcollege.core.permissions import Actor
from vcollege.errors import Forbidden, NotFound
from vcollege.learning.enrolments import find_enrolment
from vcollege.learning.models import Enrolment
from vcollege.learning.rules import CourseState, course_state
from vcollege.lti.models import LtiIdentity, LtiResourceLink, LtiResourceLinkMember


@dataclass(frozen=True)
class LinkLearner:
    person: Person
    member: LtiResourceLinkMember
    enrolment: Enrolment | None  # None: not enrolled (course unknown, restricted...)
    state: CourseState | None

    @property
    def score(self) -> Fraction | float | None:
        if self.enrolment is None:
            return None
        if self.enrolment.completion is not None:
            return self.enrolment.completion.score
        return self.state.score if self.state is not None else None


def get_resource_link(session: Session, link_id: int) -> LtiResourceLink:
    """The resource link with this id, or NotFound."""
    link = session.get(LtiResourceLink, link_id)
    if link is None:
        raise NotFound(f"No LMS link {link_id}.")
    return link


def is_link_instructor(session: Session, link: LtiResourceLink, person: Person | None) -> bool:
    """True when `person` last launched this link as an instructor."""
    if person is None:
        return False
    return session.scalar(
        select(LtiResourceLinkMember.id).join(LtiResourceLinkMember.identity)
        .where(LtiResourceLinkMember.resource_link_id == link.id, LtiResourceLinkMember.instructor.is_(True),
               LtiIdentity.person_id == person.id).limit(1)
    ) is not None


def link_learners(session: Session, link: LtiResourceLink, *, actor: Actor) -> list[LinkLearner]:
    """The learners who launched `link`, with their enrolment and progress; only for an
    instructor of the link (Forbidden otherwise)."""
    if not is_link_instructor(session, link, actor.person):
        raise Forbidden("Only an instructor of this activity in the learning platform may see its learners.")
    members = session.scalars(
        select(LtiResourceLinkMember).where(LtiResourceLinkMember.resource_link_id == link.id,
                                            LtiResourceLinkMember.learner.is_(True))
        .options(selectinload(LtiResourceLinkMember.identity).selectinload(LtiIdentity.person))
    )
    course = find_course(session, link.course_slug) if link.course_slug else None
    rows = []
    for member in members:
        person = member.identity.person
        enrolment = find_enrolment(session, person, course) if course is not None else None
        state = course_state(enrolment) if enrolment is not None else None
        rows.append(LinkLearner(person, member, enrolment, state))
    rows.sort(key=lambda row: (row.person.name.casefold(), row.person.id))
    return rows
