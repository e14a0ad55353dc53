"""Syncing the catalogue folder into the database.

Invariants:
- nothing is written unless the whole folder checks out (`loader.read_catalogue` first);
- a course whose content hash differs from its current version's gets a new version, numbered
  one more than its last; earlier versions stay, since enrolments and completions point to
  them;
- a course whose folder is gone is retired, never deleted; when the folder comes back the
  course is active again with a new version;
- a second sync of the same folder changes nothing;
- every addition, new version, retirement and return is audited with the actor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from vcollege.catalogue.loader import CourseSpec, course_folders, read_catalogue
from vcollege.catalogue.models import Access, Course, CourseStatus, CourseVersion, Delivery, Module
from vcollege.catalogue.permissions import CATALOGUE_MANAGE
from vcollege.core.audit import record_audit
from vcollege.core.permissions import Actor

Progress = Callable[[int, int], None]  # (steps done, steps in all)


@dataclass
class SyncResult:
    added: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)  # returning courses included
    restored: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.new_versions or self.retired)

    def __str__(self) -> str:
        return (f"{len(self.added)} added, {len(self.new_versions)} new versions, "
                f"{len(self.retired)} retired, {len(self.unchanged)} unchanged")


def sync_catalogue(
    session: Session,
    path: Path | str,
    *,
    actor: Actor,
    now: dt.datetime,
    progress: Progress | None = None,
) -> SyncResult:
    """Check the whole folder, then add, version, retire and restore courses to match it."""
    actor.require(CATALOGUE_MANAGE)
    root = Path(path)
    total = 2 * len(course_folders(root))
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    catalogue = read_catalogue(root, progress=step)
    existing = {
        course.slug: course
        for course in session.scalars(select(Course).options(selectinload(Course.current_version)))
    }
    result = SyncResult()
    for spec in catalogue.courses:
        course = existing.get(spec.slug)
        if course is None:
            course = Course(slug=spec.slug, status=CourseStatus.ACTIVE, created_at=now)
            session.add(course)
            version = _add_version(session, course, spec, 1, now)
            record_audit(session, actor, "catalogue.course_added", course, now=now,
                         detail={"version": 1, "content_hash": spec.content_hash})
            result.added.append(spec.slug)
        elif course.status == CourseStatus.RETIRED:
            # Back on disk: unchanged, its last version serves again; changed, a new version.
            changed = course.current_version is None or course.current_version.content_hash != spec.content_hash
            if changed:
                _add_version(session, course, spec, _next_number(session, course), now)
                result.new_versions.append(spec.slug)
            course.status, course.retired_at = CourseStatus.ACTIVE, None
            record_audit(session, actor, "catalogue.course_restored", course, now=now,
                         detail={"version": course.current_version.number, "content_hash": spec.content_hash,
                                 "changed": changed})
            result.restored.append(spec.slug)
        elif course.current_version is None or course.current_version.content_hash != spec.content_hash:
            previous = course.current_version.number if course.current_version else None
            version = _add_version(session, course, spec, _next_number(session, course), now)
            record_audit(session, actor, "catalogue.version_added", course, now=now,
                         detail={"version": version.number, "previous": previous, "content_hash": spec.content_hash})
            result.new_versions.append(spec.slug)
        else:
            result.unchanged.append(spec.slug)
        step()
    on_disk = catalogue.slugs
    for slug, course in sorted(existing.items()):
        if slug not in on_disk and course.status == CourseStatus.ACTIVE:
            course.status, course.retired_at = CourseStatus.RETIRED, now
            record_audit(session, actor, "catalogue.course_retired", course, now=now,
                         detail={"version": course.current_version.number if course.current_version else None})
            result.retired.append(slug)
    session.flush()
    return result


def _next_number(session: Session, course: Course) -> int:
    last = session.scalar(select(func.max(CourseVersion.number)).where(CourseVersion.course_id == course.id))
    return (last or 0) + 1


def _add_version(session: Session, course: Course, spec: CourseSpec, number: int, now: dt.datetime) -> CourseVersion:
    version = CourseVersion(
        course=course,
        number=number,
        content_hash=spec.content_hash,
        created_at=now,
        title=spec.title,
        summary=spec.summary,
        audiences=spec.audiences,
        competencies=spec.competencies,
        delivery=Delivery(spec.delivery),
        hours=Decimal(str(spec.hours)).quantize(Decimal("0.01")),
        access=Access(spec.access),
        languages=spec.languages,
        prerequisites=spec.prerequisites,
        completion=spec.completion,
        modules=[
            Module(
                position=m.position, key=m.key, minutes=m.minutes, title=m.title, content=m.content,
                quiz=m.quiz, pass_mark=m.pass_mark, attempts=m.attempts,
            )
            for m in spec.modules
        ],
    )
    session.add(version)
    course.current_version = version
    return version
