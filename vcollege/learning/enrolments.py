"""Enrolments: who takes which course version, how they came, and where they stand.

Invariants:
- one enrolment per person and course; enrolling again returns it unchanged (a launch, a
  roster and a trainer may all enrol the same person), except that a withdrawn or expired
  enrolment becomes active again, with its history;
- a learner keeps the version they enrolled in: a new version of the course never moves
  them; `move_to_version` does, only when asked, and carries over the progress of the
  modules that did not change;
- courses restricted to officials (`access = "authorities"`) enrol, from an LMS launch, only
  people with a Party and an agency; a trainer, a roster, the API and the CLI vouch for the
  people they enrol;
- a retired course takes no new enrolments;
- a roster file is checked whole (every line, with its number) before anything is written;
- every enrolment, withdrawal, expiry and move is audited.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from vcollege import events
from vcollege.catalogue.models import Access, Course, CourseStatus, CourseVersion
from vcollege.catalogue.service import find_course, get_version
from vcollege.core.audit import record_audit
from vcollege.core.models import Person
from vcollege.core.permissions import Actor
from vcollege.errors import Conflict, Forbidden, InvalidInput, NotFound
from vcollege.extensions import lock_for_update
from vcollege.learning.models import (
    Completion,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    ModuleProgress,
    QuizAttempt,
)
from vcollege.learning.permissions import ENROLMENTS_MANAGE
from vcollege.learning.reasons import require_reason

SELF_SERVICE_SOURCES = frozenset({EnrolmentSource.LTI})
MAX_ROSTER_LINES = 5000


def _lock(session: Session, enrolment: Enrolment) -> Enrolment:
    """Take the enrolment's lock and read it again (`populate_existing`): its status is current
    from here on, and its attempts, progress, waivers and completion, however stale in the
    caller's session, are loaded afresh when next read (tests/learning/test_concurrency.py)."""
    lock_for_update(session, Enrolment, enrolment.id)
    return enrolment


def find_enrolment(session: Session, person: Person, course: Course | str) -> Enrolment | None:
    course_id = course.id if isinstance(course, Course) else None
    if course_id is None:
        found = find_course(session, course)
        if found is None:
            return None
        course_id = found.id
    return session.scalar(select(Enrolment).where(Enrolment.person_id == person.id, Enrolment.course_id == course_id))


def get_enrolment(session: Session, enrolment_id: int) -> Enrolment:
    """The enrolment with this id, or NotFound."""
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(f"No enrolment {enrolment_id}.")
    return enrolment


def get_own_enrolment(session: Session, actor: Actor, slug: str) -> Enrolment:
    """The signed-in learner's enrolment in course `slug`, or NotFound."""
    if actor.person is None:
        raise Forbidden("Only a signed-in learner has enrolments.")
    enrolment = find_enrolment(session, actor.person, slug)
    if enrolment is None:
        raise NotFound(f"You are not enrolled in the course {slug!r}.", errors={"course": ["Not enrolled."]})
    return enrolment


def list_own_enrolments(session: Session, person: Person) -> list[Enrolment]:
    """A learner's enrolments, the most recently active first."""
    return list(session.scalars(
        select(Enrolment).where(Enrolment.person_id == person.id)
        .options(selectinload(Enrolment.version).selectinload(CourseVersion.modules),
                 selectinload(Enrolment.course), selectinload(Enrolment.progress),
                 selectinload(Enrolment.attempts), selectinload(Enrolment.waivers),
                 selectinload(Enrolment.completion).selectinload(Completion.credential))
        .order_by(func.coalesce(Enrolment.last_activity_at, Enrolment.enrolled_at).desc(), Enrolment.id.desc())
    ))


def course_enrolments_query(course: Course, *, status: EnrolmentStatus | None = None) -> Select:
    """The query of every enrolment in a course (all versions), by learner name, with what
    showing their progress reads loaded in a few queries whatever the number of rows."""
    query = (
        select(Enrolment).join(Enrolment.person).where(Enrolment.course_id == course.id)
        .options(selectinload(Enrolment.person).selectinload(Person.party),
                 selectinload(Enrolment.version).selectinload(CourseVersion.modules),
                 selectinload(Enrolment.progress), selectinload(Enrolment.attempts),
                 selectinload(Enrolment.waivers),
                 selectinload(Enrolment.completion).selectinload(Completion.credential))
        .order_by(Person.name, Enrolment.id)
    )
    if status is not None:
        query = query.where(Enrolment.status == status)
    return query


def list_course_enrolments(session: Session, course: Course, *, status: EnrolmentStatus | None = None) -> list[Enrolment]:
    """Every enrolment in a course (all versions), by learner name."""
    return list(session.scalars(course_enrolments_query(course, status=status)))


def _check_access(person: Person, version: CourseVersion, source: EnrolmentSource) -> None:
    if version.access != Access.AUTHORITIES or source not in SELF_SERVICE_SOURCES:
        return
    if person.party_id is None or person.agency is None:
        raise Forbidden(
            "This course is restricted to officials of CITES authorities: your profile needs your "
            "Party and your agency. Ask your trainer to enrol you.",
            errors={"course": ["Restricted to officials of CITES authorities."]},
        )


def enrol_learner(
    session: Session,
    person: Person,
    version: CourseVersion,
    *,
    source: EnrolmentSource | str,
    actor: Actor,
    now: dt.datetime,
    expires_at: dt.datetime | None = None,
) -> Enrolment:
    """Enrol `person` in `version`; enrolling again returns the existing enrolment (its version
    kept), reactivating it if it was withdrawn or expired — except that a launch never undoes
    a withdrawal made by someone else."""
    source = EnrolmentSource(source)
    if source not in SELF_SERVICE_SOURCES:
        actor.require(ENROLMENTS_MANAGE)
    if not person.active:
        raise Conflict(f"{person.name} is deactivated.", errors={"person": ["Deactivated."]})
    existing = find_enrolment(session, person, version.course)
    if existing is not None:
        if existing.status == EnrolmentStatus.WITHDRAWN and source in SELF_SERVICE_SOURCES \
                and existing.status_changed_by_id != person.id:
            # A launch must not undo a trainer's decision: only a trainer enrols them again.
            raise Conflict(
                f"You were withdrawn from this course on {existing.status_changed_at:%Y-%m-%d}: "
                "ask your trainer to enrol you again.",
                errors={"course": ["Withdrawn."]},
            )
        if existing.status in (EnrolmentStatus.WITHDRAWN, EnrolmentStatus.EXPIRED):
            _reactivate(session, existing, actor=actor, now=now, source=source, expires_at=expires_at)
        return existing
    if version.course.status == CourseStatus.RETIRED:
        raise Conflict(f"The course {version.course.slug!r} is retired and takes no new learners.",
                       errors={"course": ["Retired."]})
    _check_access(person, version, source)
    enrolment = Enrolment(
        person=person, course=version.course, version=version, status=EnrolmentStatus.ACTIVE, source=source,
        enrolled_at=now, enrolled_by_id=actor.person_id if actor.person_id != person.id else None,
        status_changed_at=now, expires_at=expires_at,
    )
    session.add(enrolment)
    session.flush()
    record_audit(session, actor, "enrolment.created", enrolment, now=now, detail={
        "person": person.id, "course": version.course.slug, "version": version.number, "source": source.value,
    })
    events.enrolment_created.send("learning", session=session, now=now, enrolment=enrolment)
    return enrolment


def _reactivate(session: Session, enrolment: Enrolment, *, actor: Actor, now: dt.datetime,
                source: EnrolmentSource, expires_at: dt.datetime | None) -> None:
    previous = enrolment.status
    enrolment.status = EnrolmentStatus.ACTIVE
    enrolment.status_changed_at = now
    enrolment.status_changed_by_id = actor.person_id
    enrolment.status_reason = None
    if expires_at is not None or previous == EnrolmentStatus.EXPIRED:
        enrolment.expires_at = expires_at
    record_audit(session, actor, "enrolment.reactivated", enrolment, now=now,
                 detail={"from": previous.value, "source": source.value})


def withdraw(session: Session, enrolment: Enrolment, *, reason: str, actor: Actor, now: dt.datetime) -> Enrolment:
    """Withdraw a learner: they keep their progress and attempts, and can be enrolled again.
    A learner may withdraw themselves; others need enrolments:manage."""
    if actor.person_id != enrolment.person_id:
        actor.require(ENROLMENTS_MANAGE)
    reason = require_reason(reason, "Give a reason for the withdrawal.")
    _lock(session, enrolment)
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise Conflict(f"The enrolment is {enrolment.status.value}, not active.", errors={"status": [enrolment.status.value]})
    enrolment.status = EnrolmentStatus.WITHDRAWN
    enrolment.status_changed_at = now
    enrolment.status_changed_by_id = actor.person_id
    enrolment.status_reason = reason
    record_audit(session, actor, "enrolment.withdrawn", enrolment, now=now, reason=reason,
                 detail={"person": enrolment.person_id, "course": enrolment.course.slug})
    return enrolment


def expire_enrolments(session: Session, *, now: dt.datetime, actor: Actor) -> int:
    """Active enrolments past their `expires_at` become expired (their history stays)."""
    due = session.scalars(select(Enrolment).where(
        Enrolment.status == EnrolmentStatus.ACTIVE, Enrolment.expires_at.is_not(None), Enrolment.expires_at <= now,
    )).all()
    for enrolment in due:
        enrolment.status = EnrolmentStatus.EXPIRED
        enrolment.status_changed_at = now
        enrolment.status_changed_by_id = None
        record_audit(session, actor, "enrolment.expired", enrolment, now=now,
                     detail={"expires_at": enrolment.expires_at.isoformat()})
    session.flush()
    return len(due)


def _same_module(old, new) -> bool:
    return old.key == new.key and old.content == new.content and old.quiz == new.quiz and \
        old.pass_mark == new.pass_mark and old.attempts == new.attempts


def move_to_version(session: Session, enrolment: Enrolment, version: CourseVersion, *, actor: Actor,
                    now: dt.datetime) -> Enrolment:
    """Move an active enrolment to another version of its course, when the learner (or a
    trainer) asks; progress and attempts of modules that are the same in both versions carry
    over, the rest stays on the old version's modules as history."""
    if actor.person_id != enrolment.person_id:
        actor.require(ENROLMENTS_MANAGE)
    if version.course_id != enrolment.course_id:
        raise InvalidInput("That version belongs to another course.", errors={"version": ["Another course."]})
    _lock(session, enrolment)
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise Conflict(f"The enrolment is {enrolment.status.value}: it stays on version {enrolment.version.number}.",
                       errors={"status": [enrolment.status.value]})
    if version.id == enrolment.version_id:
        return enrolment
    old = {m.key: m for m in enrolment.version.modules}
    carried = []
    for module in version.modules:
        previous = old.get(module.key)
        if previous is None or not _same_module(previous, module):
            continue
        for row in enrolment.progress:
            if row.module_id == previous.id:
                row.module_id = module.id
        for attempt in enrolment.attempts:
            if attempt.module_id == previous.id:
                attempt.module_id = module.id
        carried.append(module.key)
    from_number = enrolment.version.number
    enrolment.version = version
    session.flush()
    session.expire(enrolment, ["progress", "attempts"])
    record_audit(session, actor, "enrolment.moved", enrolment, now=now, detail={
        "from_version": from_number, "to_version": version.number, "carried_over": carried,
    })
    return enrolment


# Rosters ---------------------------------------------------------------------------------

ROSTER_COLUMNS = ("email", "course")


@dataclass
class RosterLine:
    line: int
    person: Person
    version: CourseVersion
    expires_at: dt.datetime | None


@dataclass
class RosterResult:
    created: list[Enrolment] = field(default_factory=list)
    existing: list[Enrolment] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{len(self.created)} enrolled, {len(self.existing)} already enrolled"


def read_roster(session: Session, text: str, *, default_course: str | None = None) -> list[RosterLine]:
    """Check a roster CSV whole: columns `email` and `course` (or a default course),
    optional `version` and `expires_on`; every problem is reported with its line number."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    needed = ("email",) if default_course else ROSTER_COLUMNS
    missing = [c for c in needed if c not in columns]
    if missing:
        raise InvalidInput(f"The file needs the column(s) {', '.join(missing)}.",
                           errors={"file": [f"Line 1: missing column(s) {', '.join(missing)}; found {', '.join(columns) or 'none'}."]})
    reader.fieldnames = columns
    problems: list[str] = []
    rows: list[tuple[int, dict[str, str]]] = []
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_ROSTER_LINES:
            problems.append(f"Line {number}: the file has more than {MAX_ROSTER_LINES} lines; split it.")
            break
        row = {k: (v or "").strip() for k, v in row.items() if k}
        if any(row.values()):
            rows.append((number, row))
    # One query for every e-mail of the file, and one look-up per course and version named.
    people_by_email: dict[str, list[Person]] = {}
    emails = {row.get("email", "").lower() for _number, row in rows} - {""}
    if emails:
        for person in session.scalars(select(Person).where(func.lower(Person.email).in_(emails),
                                                           Person.active.is_(True))):
            people_by_email.setdefault(person.email.lower(), []).append(person)
    versions: dict[tuple[str, int | None], CourseVersion | NotFound] = {}
    lines: list[RosterLine] = []
    seen: dict[tuple[int, int], int] = {}
    for number, row in rows:
        email = row.get("email", "").lower()
        slug = row.get("course") or default_course or ""
        if not email or "@" not in email:
            problems.append(f"Line {number}: e-mail {email!r} is not an e-mail address.")
            continue
        people = people_by_email.get(email, [])
        if not people:
            problems.append(f"Line {number}: nobody is known with the e-mail {email} (they appear after their first launch).")
            continue
        if len(people) > 1:
            problems.append(f"Line {number}: several people have the e-mail {email}; enrol them from their page.")
            continue
        version_text = row.get("version", "")
        try:
            number_wanted = int(version_text) if version_text else None
        except ValueError:
            problems.append(f"Line {number}: version {version_text!r} is not a number.")
            continue
        if not slug:
            problems.append(f"Line {number}: no course given.")
            continue
        if (slug, number_wanted) not in versions:
            try:
                versions[slug, number_wanted] = get_version(session, slug, number_wanted)
            except NotFound as exc:
                versions[slug, number_wanted] = exc
        version = versions[slug, number_wanted]
        if isinstance(version, NotFound):
            problems.append(f"Line {number}: {version.detail}")
            continue
        if version.course.status == CourseStatus.RETIRED:
            problems.append(f"Line {number}: the course {slug} is retired.")
            continue
        expires_at = None
        if row.get("expires_on"):
            try:
                day = dt.date.fromisoformat(row["expires_on"])
            except ValueError:
                problems.append(f"Line {number}: expires_on {row['expires_on']!r} is not a date (YYYY-MM-DD).")
                continue
            expires_at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        key = (people[0].id, version.course_id)
        if key in seen:
            problems.append(f"Line {number}: {email} is already enrolled in {slug} on line {seen[key]}.")
            continue
        seen[key] = number
        lines.append(RosterLine(number, people[0], version, expires_at))
    if problems:
        raise InvalidInput(f"The roster has {len(problems)} problem(s); nothing was enrolled.", errors={"file": problems})
    if not lines:
        raise InvalidInput("The roster has no learners.", errors={"file": ["No line with an e-mail."]})
    return lines


def enrol_roster(session: Session, text: str, *, actor: Actor, now: dt.datetime,
                 source: EnrolmentSource = EnrolmentSource.CSV, default_course: str | None = None) -> RosterResult:
    """Enrol every learner of a roster CSV, all or nothing."""
    actor.require(ENROLMENTS_MANAGE)
    result = RosterResult()
    for line in read_roster(session, text, default_course=default_course):
        before = find_enrolment(session, line.person, line.version.course)
        enrolment = enrol_learner(session, line.person, line.version, source=source, actor=actor, now=now,
                                  expires_at=line.expires_at)
        (result.existing if before is not None else result.created).append(enrolment)
    return result


def attempts_of(enrolment: Enrolment, module_id: int) -> list[QuizAttempt]:
    return [a for a in enrolment.attempts if a.module_id == module_id]


def progress_of(enrolment: Enrolment, module_id: int) -> ModuleProgress | None:
    for row in enrolment.progress:
        if row.module_id == module_id:
            return row
    return None


def enrolment_counts(session: Session) -> dict[tuple[int, EnrolmentStatus], int]:
    """How many enrolments each course has in each status: {(course id, status): number}."""
    rows = session.execute(
        select(Enrolment.course_id, Enrolment.status, func.count(Enrolment.id))
        .group_by(Enrolment.course_id, Enrolment.status)
    )
    return {(course_id, status): number for course_id, status, number in rows}
