"""Taking a course: opening and reading modules, quiz attempts, waivers, attendance, and the
completion they lead to.

Invariants:
- only the learner (or the operator, for demo data) records their own progress; trainers
  waive, they never answer for a learner, and never waive for themselves; a waiver needs
  `enrolments:manage`, which a session opened by an LMS launch never holds;
- progress is recorded only on an active enrolment whose prerequisites are met: each course
  named in the version's `prerequisites` must have a completion of the person whose
  credential is not revoked (a whole-course waiver of this course lifts them);
- the correct answers are read only here, on the server; a quiz is graded against the
  version the learner is enrolled in; attempts are limited by the module; the best counts;
  once the course is completed, quizzes take no more attempts;
- a completion is recorded exactly once per enrolment (unique row, under the enrolment's
  lock), with the final score, the person's name, Party and agency as they are at that moment,
  and the waived modules; `completion_recorded` is sent in the same transaction, and a
  credential (verification code, badge id) is issued with it;
- while a course is not completed, a change of the provisional score (the mean of the best
  scores of the required quizzes, unattempted ones counting 0) is sent as `score_changed`;
- every waiver, attendance record and completion is audited.

See `rules.py` for the completion rule itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vcollege import events
from vcollege.catalogue.models import Module
from vcollege.catalogue.service import find_course, quiz_in
from vcollege.core.audit import record_audit
from vcollege.core.models import Person
from vcollege.core.permissions import Actor
from vcollege.errors import Conflict, Forbidden, InvalidInput, NotFound
from vcollege.learning.credentials import issue_credential
from vcollege.learning.enrolments import _lock, progress_of
from vcollege.learning.models import (
    Completion,
    Credential,
    Enrolment,
    EnrolmentStatus,
    ModuleProgress,
    QuizAttempt,
    Waiver,
)
from vcollege.learning.permissions import ENROLMENTS_MANAGE
from vcollege.learning.reasons import require_reason
from vcollege.learning.rules import CourseState, Grade, check_answers, course_state, grade, percent


class PrerequisitesMissing(Forbidden):
    code = "prerequisites-missing"


def _require_learner(actor: Actor, enrolment: Enrolment) -> None:
    if actor.person_id != enrolment.person_id and not actor.everything:
        raise Forbidden("Only the learner records their own progress.")


def _require_active(enrolment: Enrolment) -> None:
    if enrolment.status == EnrolmentStatus.COMPLETED:
        raise Conflict("You have completed this course already.", errors={"status": ["completed"]})
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise Conflict(f"This enrolment is {enrolment.status.value}; ask your trainer to enrol you again.",
                       errors={"status": [enrolment.status.value]})


def completed_course_slugs(session: Session, person: Person) -> set[str]:
    """Slugs of the courses the person has completed, revoked credentials left out."""
    return completed_course_slugs_of(session, [person.id]).get(person.id, set())


def completed_course_slugs_of(session: Session, person_ids) -> dict[int, set[str]]:
    """Per person, the slugs of the courses they completed (revoked credentials left out), in
    one query."""
    from vcollege.catalogue.models import Course

    ids = set(person_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Completion.person_id, Course.slug)
        .join(Course, Course.id == Completion.course_id)
        .outerjoin(Credential, Credential.completion_id == Completion.id)
        .where(Completion.person_id.in_(ids), Credential.revoked_at.is_(None))
    )
    done: dict[int, set[str]] = {}
    for person_id, slug in rows:
        done.setdefault(person_id, set()).add(slug)
    return done


def _needs_prerequisites(enrolment: Enrolment) -> bool:
    return bool(enrolment.version.prerequisites) and not any(w.module_id is None for w in enrolment.waivers)


def missing_prerequisites(session: Session, enrolment: Enrolment) -> list[str]:
    """The prerequisite course slugs the learner has not completed (in the version's order)."""
    if not _needs_prerequisites(enrolment):
        return []
    done = completed_course_slugs(session, enrolment.person)
    return [slug for slug in enrolment.version.prerequisites if slug not in done]


def missing_prerequisites_of(session: Session, enrolments) -> dict[int, list[str]]:
    """`missing_prerequisites` of several enrolments (by enrolment id), in one query; an
    enrolment already completed misses nothing."""
    waiting = [e for e in enrolments if e.completion is None and _needs_prerequisites(e)]
    done = completed_course_slugs_of(session, {e.person_id for e in waiting})
    missing = {e.id: [] for e in enrolments}
    for enrolment in waiting:
        have = done.get(enrolment.person_id, set())
        missing[enrolment.id] = [slug for slug in enrolment.version.prerequisites if slug not in have]
    return missing


def _require_prerequisites(session: Session, enrolment: Enrolment) -> None:
    missing = missing_prerequisites(session, enrolment)
    if missing:
        names = ", ".join(missing)
        raise PrerequisitesMissing(
            f"Complete these courses first: {names}.", errors={"prerequisites": missing},
        )


def _module(enrolment: Enrolment, key: str) -> Module:
    for module in enrolment.version.modules:
        if module.key == key:
            return module
    raise NotFound(f"The course has no module {key!r}.", errors={"module": [f"Unknown module {key!r}."]})


def _progress_row(session: Session, enrolment: Enrolment, module: Module, now: dt.datetime) -> ModuleProgress:
    row = progress_of(enrolment, module.id)
    if row is None:
        row = ModuleProgress(enrolment=enrolment, module_id=module.id, opened_at=now)
        session.add(row)
    return row


def open_module(session: Session, enrolment: Enrolment, key: str, *, actor: Actor, now: dt.datetime) -> Module:
    """Note that the learner opened a module ("continue where you left off"); nothing is
    recorded on an enrolment that is not active (a completed learner may re-read)."""
    _require_learner(actor, enrolment)
    module = _module(enrolment, key)
    if enrolment.status == EnrolmentStatus.ACTIVE:
        _require_prerequisites(session, enrolment)
        _progress_row(session, enrolment, module, now)
        enrolment.last_module_key = module.key
        enrolment.last_activity_at = now
        session.flush()
    return module


@dataclass(frozen=True)
class Outcome:
    """What a step of the learner led to."""

    state: CourseState
    completion: Completion | None
    grade: Grade | None = None
    attempt: QuizAttempt | None = None


def mark_read(session: Session, enrolment: Enrolment, key: str, *, actor: Actor, now: dt.datetime) -> Outcome:
    """Record that the learner read a module; may complete the course."""
    _require_learner(actor, enrolment)
    _lock(session, enrolment)
    _require_active(enrolment)
    _require_prerequisites(session, enrolment)
    module = _module(enrolment, key)
    before = course_state(enrolment)
    row = _progress_row(session, enrolment, module, now)
    if row.read_at is None:
        row.read_at = now
    enrolment.last_module_key = module.key
    enrolment.last_activity_at = now
    session.flush()
    return _settle(session, enrolment, before, actor=actor, now=now, cause=f"read:{module.id}")


def submit_quiz(session: Session, enrolment: Enrolment, key: str, answers: dict, *, language: str | None,
                actor: Actor, now: dt.datetime) -> Outcome:
    """Grade a quiz attempt on the server; reaching the quiz counts as reading the module.
    Refused when no attempt is left; the best attempt counts."""
    _require_learner(actor, enrolment)
    _lock(session, enrolment)
    _require_active(enrolment)
    _require_prerequisites(session, enrolment)
    module = _module(enrolment, key)
    if not module.quiz:
        raise InvalidInput("This module has no quiz.", errors={"module": ["No quiz."]})
    before = course_state(enrolment)
    state = before.module(module.key)
    if state.attempts_left == 0:
        raise Conflict(f"You have used all {module.attempts} attempts at this quiz.",
                       errors={"attempts": [f"{state.attempts_used} of {module.attempts} used."]})
    lang_used, questions = quiz_in(module, language)
    clean = check_answers(questions, answers)
    result = grade(questions, clean)
    passed = result.score >= (module.pass_mark or 0)
    attempt = QuizAttempt(
        enrolment=enrolment, module_id=module.id, number=state.attempts_used + 1, submitted_at=now,
        language=lang_used, answers=clean, correct=result.correct, total=result.total,
        score=percent(result.score), passed=passed,
    )
    session.add(attempt)
    row = _progress_row(session, enrolment, module, now)
    if row.read_at is None:
        row.read_at = now
    if row.best_score is None or percent(result.score) > row.best_score:
        row.best_score = percent(result.score)
    if passed and row.passed_at is None:
        row.passed_at = now
    enrolment.last_module_key = module.key
    enrolment.last_activity_at = now
    session.flush()
    outcome = _settle(session, enrolment, before, actor=actor, now=now, cause=f"attempt:{attempt.id}")
    return Outcome(outcome.state, outcome.completion, result, attempt)


def _require_waiver_right(actor: Actor, enrolment: Enrolment) -> None:
    """Waivers need `enrolments:manage`, which LMS sessions never hold (a staff sign-in, a
    token or the operator), and are never for the trainer's own enrolment."""
    actor.require(ENROLMENTS_MANAGE)
    if actor.person is not None and _same_individual(actor.person, enrolment.person):
        raise Forbidden("Nobody can waive a requirement for themselves: ask another trainer.",
                        errors={"module": ["Your own enrolment."]})


def _same_individual(a, b) -> bool:
    """The same person, or the same individual under another identity: a staff trainer who
    also launches from an LMS has a second person record, with the same e-mail."""
    if a.id == b.id:
        return True
    emails = lambda p: {e.strip().lower() for e in (p.email, p.account.email if p.account else None) if e}  # noqa: E731
    return bool(emails(a) & emails(b))


def waive_module(session: Session, enrolment: Enrolment, key: str, *, reason: str, actor: Actor,
                 now: dt.datetime) -> Outcome:
    """A trainer waives one module for a learner, with a reason; may complete the course.
    Nobody waives for themselves."""
    _require_waiver_right(actor, enrolment)
    reason = require_reason(reason, "Give the reason for the waiver.")
    _lock(session, enrolment)
    _require_active(enrolment)
    module = _module(enrolment, key)
    if any(w.module_id == module.id for w in enrolment.waivers):
        raise Conflict(f"The module {key!r} is waived already.", errors={"module": ["Already waived."]})
    before = course_state(enrolment)
    waiver = Waiver(enrolment=enrolment, module_id=module.id, reason=reason, waived_at=now,
                    waived_by_id=actor.person_id, waived_by_label=actor.label[:200])
    session.add(waiver)
    session.flush()
    record_audit(session, actor, "enrolment.module_waived", enrolment, now=now, reason=reason,
                 detail={"module": module.key, "person": enrolment.person_id, "course": enrolment.course.slug})
    return _settle(session, enrolment, before, actor=actor, now=now, cause=f"waiver:{waiver.id}")


def waive_course(session: Session, enrolment: Enrolment, *, reason: str, actor: Actor, now: dt.datetime) -> Outcome:
    """A trainer waives the whole course for a learner, with a reason: it is completed at
    once, with no score, marked as waived. Nobody waives for themselves."""
    _require_waiver_right(actor, enrolment)
    reason = require_reason(reason, "Give the reason for the waiver.")
    _lock(session, enrolment)
    _require_active(enrolment)
    before = course_state(enrolment)
    waiver = Waiver(enrolment=enrolment, module_id=None, reason=reason, waived_at=now,
                    waived_by_id=actor.person_id, waived_by_label=actor.label[:200])
    session.add(waiver)
    session.flush()
    record_audit(session, actor, "enrolment.course_waived", enrolment, now=now, reason=reason,
                 detail={"person": enrolment.person_id, "course": enrolment.course.slug})
    return _settle(session, enrolment, before, actor=actor, now=now, cause=f"waiver:{waiver.id}")


def record_attendance_rate(session: Session, enrolment: Enrolment, percent_attended: int, *, actor: Actor,
                           now: dt.datetime, source: str = "cohorts") -> Outcome:
    """The cohorts area tells the share of sessions a learner attended (0-100); an in-person
    or blended course whose other requirements are met completes when it reaches the threshold."""
    actor.require(ENROLMENTS_MANAGE)
    if not isinstance(percent_attended, int) or isinstance(percent_attended, bool) or not 0 <= percent_attended <= 100:
        raise InvalidInput("Attendance is a whole percentage from 0 to 100.", errors={"attendance": ["0 to 100."]})
    _lock(session, enrolment)
    before = course_state(enrolment)
    previous = enrolment.attendance_percent
    enrolment.attendance_percent = percent_attended
    enrolment.attendance_recorded_at = now
    session.flush()
    record_audit(session, actor, "enrolment.attendance", enrolment, now=now,
                 detail={"from": previous, "to": percent_attended, "source": source})
    if enrolment.status != EnrolmentStatus.ACTIVE:
        return Outcome(course_state(enrolment), enrolment.completion)
    return _settle(session, enrolment, before, actor=actor, now=now, cause=f"attendance:{now.isoformat()}")


def _settle(session: Session, enrolment: Enrolment, before: CourseState, *, actor: Actor, now: dt.datetime,
            cause: str) -> Outcome:
    """Record the completion if the rule now holds; otherwise tell of a changed score."""
    session.expire(enrolment, ["progress", "attempts", "waivers"])
    state = course_state(enrolment)
    if enrolment.completion is None and state.holds:
        return Outcome(state, record_completion(session, enrolment, state, actor=actor, now=now))
    provisional_before, provisional_after = before.score, state.score
    if enrolment.completion is None and provisional_after is not None and provisional_after != provisional_before:
        events.score_changed.send(
            "learning", session=session, now=now, person=enrolment.person, course_slug=enrolment.course.slug,
            score=percent(provisional_after), key=f"enrolment:{enrolment.id}:{cause}", enrolment=enrolment,
        )
    return Outcome(state, enrolment.completion)


def record_completion(session: Session, enrolment: Enrolment, state: CourseState, *, actor: Actor,
                      now: dt.datetime) -> Completion:
    """Record the completion of `enrolment` (once), issue its credential and tell the other
    areas, all in the caller's transaction."""
    if enrolment.completion is not None:
        return enrolment.completion
    person = enrolment.person
    completion = Completion(
        enrolment=enrolment, person=person, learner_name=person.name, party_id=person.party_id, agency=person.agency,
        course_id=enrolment.course_id, course_version=enrolment.version, completed_at=now,
        score=percent(state.score), waived=state.course_waived, waived_modules=state.waived_modules,
        language=(person.preferred_language or "en"),
    )
    session.add(completion)
    enrolment.status = EnrolmentStatus.COMPLETED
    enrolment.status_changed_at = now
    session.flush()
    issue_credential(session, completion, now=now)
    record_audit(session, actor, "completion.recorded", completion, now=now, detail={
        "person": person.id, "course": enrolment.course.slug, "version": enrolment.version.number,
        "score": completion.score, "waived": completion.waived, "waived_modules": completion.waived_modules,
    })
    events.completion_recorded.send("learning", session=session, now=now, completion=completion)
    return completion


def list_completions(session: Session, *, course: str | None = None, party_id: int | None = None,
                     since: dt.datetime | None = None, until: dt.datetime | None = None):
    """A query of completions, newest first, filtered by course slug, Party and dates."""
    query = (
        select(Completion).order_by(Completion.completed_at.desc(), Completion.id.desc())
        .options(selectinload(Completion.credential), selectinload(Completion.person), selectinload(Completion.party),
                 selectinload(Completion.course), selectinload(Completion.course_version))
    )
    if course:
        found = find_course(session, course)
        query = query.where(Completion.course_id == (found.id if found else -1))
    if party_id is not None:
        query = query.where(Completion.party_id == party_id)
    if since is not None:
        query = query.where(Completion.completed_at >= since)
    if until is not None:
        query = query.where(Completion.completed_at < until)
    return query
