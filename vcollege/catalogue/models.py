"""Catalogue models: a course, its immutable versions and their modules.

Invariants held by the schema and by the mapper:
- a course is identified by its slug, the name of its folder in `courses/`;
- a course is never deleted: a course whose folder goes away is retired, and its versions
  stay, because enrolments and completions point to them;
- versions are numbered 1..n per course; the course points to its current version;
- a version and its modules are immutable once written (an UPDATE of either raises);
- translatable texts are JSON objects keyed by language code (`{"en": ..., "fr": ...}`),
  English always present.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, Numeric, String, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vcollege.extensions import UTCDateTime, db, string_enum


class CourseStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class Delivery(StrEnum):
    ONLINE = "online"
    IN_PERSON = "in_person"
    BLENDED = "blended"


class Access(StrEnum):
    OPEN = "open"  # anyone, guests included
    AUTHORITIES = "authorities"  # enrolment restricted to officials


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[CourseStatus] = mapped_column(string_enum(CourseStatus, 20), default=CourseStatus.ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # courses <-> course_versions is a cycle: the constraint is added after both tables exist.
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_versions.id", use_alter=True)
    )

    versions: Mapped[list[CourseVersion]] = relationship(
        back_populates="course", order_by="CourseVersion.number", foreign_keys="CourseVersion.course_id",
    )
    current_version: Mapped[CourseVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True,
    )

    @property
    def retired(self) -> bool:
        return self.status == CourseStatus.RETIRED

    def __repr__(self) -> str:
        return f"<Course {self.slug} {self.status}>"


class CourseVersion(db.Model):
    """What a course was at one sync: everything a learner enrolled in it relies on."""

    __tablename__ = "course_versions"
    __table_args__ = (UniqueConstraint("course_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    title: Mapped[dict[str, str]] = mapped_column(JSON)
    summary: Mapped[dict[str, str]] = mapped_column(JSON)
    audiences: Mapped[list[str]] = mapped_column(JSON)  # Agency values
    competencies: Mapped[list[str]] = mapped_column(JSON)  # ids from competencies.toml
    delivery: Mapped[Delivery] = mapped_column(string_enum(Delivery, 20))
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    access: Mapped[Access] = mapped_column(string_enum(Access, 20))
    languages: Mapped[list[str]] = mapped_column(JSON)  # complete languages, English first
    prerequisites: Mapped[list[str]] = mapped_column(JSON)  # course slugs
    # {"modules": "all" | [module keys], "min_score": int, "attendance": int | None}
    completion: Mapped[dict[str, Any]] = mapped_column(JSON)

    course: Mapped[Course] = relationship(back_populates="versions", foreign_keys=[course_id])
    modules: Mapped[list[Module]] = relationship(
        back_populates="version", order_by="Module.position", cascade="all, delete-orphan",
    )

    @property
    def slug(self) -> str:
        return self.course.slug

    @property
    def is_current(self) -> bool:
        return self.course.current_version_id == self.id

    def __repr__(self) -> str:
        return f"<CourseVersion {self.course_id} v{self.number}>"


class Module(db.Model):
    """One module of a version: its texts per language and, optionally, its quiz."""

    __tablename__ = "course_modules"
    __table_args__ = (UniqueConstraint("version_id", "key"), UniqueConstraint("version_id", "position"))

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 0..n in the order learners take them
    key: Mapped[str] = mapped_column(String(100))  # the module id of course.toml
    minutes: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict[str, str]] = mapped_column(JSON)  # from each file's `# ` heading
    content: Mapped[dict[str, str]] = mapped_column(JSON)  # Markdown without the title line
    # {lang: [{"id", "text", "explanation", "choices": [{"id", "text", "correct"}]}]}
    quiz: Mapped[dict[str, list[dict[str, Any]]] | None] = mapped_column(JSON)
    pass_mark: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int | None] = mapped_column(Integer)

    version: Mapped[CourseVersion] = relationship(back_populates="modules")

    def __repr__(self) -> str:
        return f"<Module {self.key} of version {self.version_id}>"


class ImmutableRecord(RuntimeError):
    """A programming error: a course version or module was changed after it was written."""


def _refuse_updates(mapper, connection, target) -> None:
    state = inspect(target)
    changed = [attr.key for attr in state.attrs if attr.key in mapper.columns and attr.history.has_changes()]
    if changed:
        raise ImmutableRecord(f"{type(target).__name__} {target.id} is immutable (changed: {', '.join(changed)})")


event.listen(CourseVersion, "before_update", _refuse_updates)
event.listen(Module, "before_update", _refuse_updates)
