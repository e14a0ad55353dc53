"""The audit log: every state change that matters to a person leaves a row.

Rows are written by the service that makes the change, in the same transaction, so a change
and its audit row commit or roll back together. Nothing updates or deletes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from vcollege.core.models import AuditEntry
from vcollege.core.permissions import Actor


@dataclass(frozen=True)
class AuditTarget:
    """A target that is not one row: a file load, a whole table."""

    type: str
    id: str
    label: str | None = None


def _describe(target: Any) -> tuple[str, str, str | None]:
    if isinstance(target, AuditTarget):
        return target.type, target.id, target.label
    table = getattr(target, "__tablename__", type(target).__name__.lower())
    identity = getattr(target, "id", None)
    if identity is None:
        identity = getattr(target, "iso2", None) or getattr(target, "slug", None)
    label = (
        getattr(target, "name", None)
        or getattr(target, "title", None)
        or getattr(target, "slug", None)
        or getattr(target, "iso2", None)
    )
    return table, str(identity), str(label) if label is not None else None


def record_audit(
    session: Session,
    actor: Actor,
    action: str,
    target: Any,
    *,
    now: dt.datetime,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit row for `action` on `target`, in the caller's transaction."""
    session.flush()  # so that a new target has its id
    target_type, target_id, target_label = _describe(target)
    entry = AuditEntry(
        at=now,
        actor_id=actor.person_id,
        actor_label=actor.label[:200],
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:300] if target_label else None,
        reason=reason,
        detail=detail or {},
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def audit_query(filters: AuditFilter) -> Select[tuple[AuditEntry]]:
    """The audit rows matching `filters`, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if filters.action:
        query = query.where(AuditEntry.action.startswith(filters.action))
    if filters.actor:
        query = query.where(AuditEntry.actor_label.contains(filters.actor, autoescape=True))
    if filters.target_type:
        query = query.where(AuditEntry.target_type == filters.target_type)
    if filters.target_id:
        query = query.where(AuditEntry.target_id == filters.target_id)
    if filters.since:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until:
        query = query.where(AuditEntry.at < filters.until)
    return query
