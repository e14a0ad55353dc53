"""Learning models: enrolments, module progress, quiz attempts, waivers, completions and the
credentials issued for them.

Invariants held by the schema and by the mapper:
- a person has at most one enrolment per course; it points to the course version they
  enrolled in, which changes only by an explicit move (never silently);
- a module's progress row and a quiz attempt belong to one enrolment and one module of a
  version; attempt numbers are unique per (enrolment, module), so two concurrent
  submissions cannot both take the last attempt;
- an enrolment has at most one completion (unique `enrolment_id`); a completion is never
  updated (an UPDATE raises) and keeps the person's name, Party and agency and the course
  version it was earned with, as they were then;
- a completion has at most one credential (certificate + badge) with a unique verification
  code; revoking it is the only change a credential ever sees.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vcollege.catalogue.models import Course, CourseVersion, Module
from vcollege.core.models import Agency, Party, Person
from vcollege.extensions import UTCDateTime, db, string_enum


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class EnrolmentSource(StrEnum):
    LTI = "lti"  # a launch from an LMS
    TRAINER = "trainer"  # a trainer's page
    CSV = "csv"  # a roster file (page or CLI)
    API = "api"  # another system, with a token
    CLI = "cli"  # `vcollege learning enrol`
    DEMO = "demo"  # demonstration data


class Enrolment(db.Model):
    """A person taking one version of a course."""

    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("person_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"), index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(string_enum(EnrolmentStatus, 20), default=EnrolmentStatus.ACTIVE)
    source: Mapped[EnrolmentSource] = mapped_column(string_enum(EnrolmentSource, 20))
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    status_reason: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # "continue where you left off": the last module the learner opened
    last_module_key: Mapped[str | None] = mapped_column(String(100))
    last_activity_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # share of sessions attended (in-person and blended courses), told by the cohorts area
    attendance_percent: Mapped[int | None] = mapped_column(Integer)
    attendance_recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    enrolled_by: Mapped[Person | None] = relationship(foreign_keys=[enrolled_by_id])
    status_changed_by: Mapped[Person | None] = relationship(foreign_keys=[status_changed_by_id])
    course: Mapped[Course] = relationship()
    version: Mapped[CourseVersion] = relationship()
    progress: Mapped[list[ModuleProgress]] = relationship(back_populates="enrolment", cascade="all, delete-orphan")
    attempts: Mapped[list[QuizAttempt]] = relationship(
        back_populates="enrolment", cascade="all, delete-orphan", order_by="QuizAttempt.id",
    )
    waivers: Mapped[list[Waiver]] = relationship(
        back_populates="enrolment", cascade="all, delete-orphan", order_by="Waiver.id",
    )
    completion: Mapped[Completion | None] = relationship(back_populates="enrolment", uselist=False)

    @property
    def slug(self) -> str:
        return self.course.slug

    def __repr__(self) -> str:
        return f"<Enrolment {self.id} person {self.person_id} course {self.course_id} {self.status}>"


class ModuleProgress(db.Model):
    """How far one enrolment got in one module."""

    __tablename__ = "module_progress"
    __table_args__ = (UniqueConstraint("enrolment_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("course_modules.id"), index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    best_score: Mapped[float | None] = mapped_column(Float)  # percent, for display; rules use the attempts
    passed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    enrolment: Mapped[Enrolment] = relationship(back_populates="progress")
    module: Mapped[Module] = relationship()


class QuizAttempt(db.Model):
    """One graded submission of a module's quiz."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (UniqueConstraint("enrolment_id", "module_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("course_modules.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per enrolment and module
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    language: Mapped[str] = mapped_column(String(12))
    answers: Mapped[dict[str, list[str]]] = mapped_column(JSON)  # question id -> choice ids
    correct: Mapped[int] = mapped_column(Integer)  # questions answered exactly right
    total: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)  # 100 * correct / total, rounded to 2 places
    passed: Mapped[bool] = mapped_column(default=False)

    enrolment: Mapped[Enrolment] = relationship(back_populates="attempts")
    module: Mapped[Module] = relationship()


class Waiver(db.Model):
    """A trainer's decision that a learner need not do a module (or the whole course)."""

    __tablename__ = "waivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int | None] = mapped_column(ForeignKey("course_modules.id"))  # None: the whole course
    reason: Mapped[str] = mapped_column(Text)
    waived_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    waived_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    waived_by_label: Mapped[str] = mapped_column(String(200))

    enrolment: Mapped[Enrolment] = relationship(back_populates="waivers")
    module: Mapped[Module | None] = relationship()
    waived_by: Mapped[Person | None] = relationship()

    @property
    def whole_course(self) -> bool:
        return self.module_id is None


class Completion(db.Model):
    """A course version completed by a person: recorded once, never changed."""

    __tablename__ = "completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    # the name as it was then: printed on the certificate, the badge and the verification page
    learner_name: Mapped[str] = mapped_column(String(200))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True)  # as it was then
    agency: Mapped[Agency | None] = mapped_column(string_enum(Agency))  # as it was then
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    course_version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"), index=True)
    completed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    score: Mapped[float | None] = mapped_column(Float)  # 0-100; None when the whole course was waived
    waived: Mapped[bool] = mapped_column(default=False)  # the whole course was waived
    waived_modules: Mapped[list[str]] = mapped_column(JSON, default=list)  # keys of waived modules
    language: Mapped[str] = mapped_column(String(12))  # the learner's language when they completed

    enrolment: Mapped[Enrolment] = relationship(back_populates="completion")
    person: Mapped[Person] = relationship()
    party: Mapped[Party | None] = relationship()
    course: Mapped[Course] = relationship()
    course_version: Mapped[CourseVersion] = relationship()
    # "all": deleting a completion must reach `_refuse_deletes`, not orphan its credential first
    credential: Mapped[Credential | None] = relationship(back_populates="completion", uselist=False,
                                                         passive_deletes="all")

    @property
    def hours(self) -> Any:
        return self.course_version.hours

    def __repr__(self) -> str:
        return f"<Completion {self.id} person {self.person_id} version {self.course_version_id}>"


class Credential(db.Model):
    """The certificate and Open Badge of a completion, known by a verification code."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("completions.id"), unique=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # e.g. 7KQ2-MX9D-4HTR
    badge_uuid: Mapped[str] = mapped_column(String(36), unique=True)  # the badge's urn:uuid
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    completion: Mapped[Completion] = relationship(back_populates="credential")
    revoked_by: Mapped[Person | None] = relationship()

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class ImmutableCompletion(RuntimeError):
    """A programming error: a completion was changed after it was recorded."""


def _refuse_updates(mapper, connection, target) -> None:
    state = inspect(target)
    changed = [attr.key for attr in state.attrs if attr.key in mapper.columns and attr.history.has_changes()]
    if changed:
        raise ImmutableCompletion(f"Completion {target.id} is immutable (changed: {', '.join(changed)})")


def _refuse_deletes(mapper, connection, target) -> None:
    raise ImmutableCompletion(f"Completion {target.id} cannot be deleted")


event.listen(Completion, "before_update", _refuse_updates)
event.listen(Completion, "before_delete", _refuse_deletes)
