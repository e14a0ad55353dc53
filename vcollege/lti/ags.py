"""Assignment and Grade Services: an outbox of scores, drained by a job.

Invariants:
- a completion or a changed score writes one outbox row per resource link the learner
  launched for that course, in the same session as its cause (no commit here);
- each row has a unique dedupe key (the change and the link), so the same change is queued
  once, and a row that was sent is never sent again;
- rows for one (link, learner) go out in the order they were made; a later one waits while
  an earlier one is unsent, so the LMS never sees an older score after a newer one;
- a failed attempt is retried with exponential backoff (1 min doubling to 6 h); after
  MAX_ATTEMPTS the row is `failed` and stays until a trainer or the Secretariat retries it;
- the line item is the one the launch named, else the one found (or created) in the
  context's line items by resourceId = course slug, following every `rel="next"` page.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from vcollege import events
from vcollege.core.audit import record_audit
from vcollege.core.permissions import Actor
from vcollege.errors import NotFound
from vcollege.lti.errors import ServiceFailed
from vcollege.lti.keys import ensure_signing_key
from vcollege.lti.models import (
    AgsOutbox,
    LtiIdentity,
    LtiResourceLink,
    LtiResourceLinkMember,
    OutboxStatus,
    PlatformStatus,
)
from vcollege.lti.platforms import LTI_SCORES
from vcollege.lti.tool import TOKENS, PlatformRegistration, TokenCache, ToolServiceConnector

log = logging.getLogger(__name__)

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
LINEITEM_READ_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
MAX_ATTEMPTS = 10
FIRST_DELAY = dt.timedelta(minutes=1)
MAX_DELAY = dt.timedelta(hours=6)
BATCH = 200


def backoff(attempts: int) -> dt.timedelta:
    """Delay before the next try after `attempts` failures: 1, 2, 4 ... minutes, at most 6 h."""
    return min(FIRST_DELAY * (2 ** max(0, attempts - 1)), MAX_DELAY)


def _targets(session: Session, person_id: int, course_slug: str) -> list[LtiResourceLinkMember]:
    return list(session.scalars(
        select(LtiResourceLinkMember).join(LtiResourceLinkMember.resource_link).join(LtiResourceLinkMember.identity)
        .where(LtiResourceLink.course_slug == course_slug, LtiIdentity.person_id == person_id)
        .order_by(LtiResourceLinkMember.id)
    ))


def queue_score(session: Session, *, person, course_slug: str, score, key: str, completed: bool,
                changed_at: dt.datetime, now: dt.datetime) -> list[AgsOutbox]:
    """Queue `score` for every link the person launched for the course; once per key and link."""
    rows = []
    for member in _targets(session, person.id, course_slug):
        dedupe = f"{key}:link{member.resource_link_id}:id{member.identity_id}"[:200]
        if session.scalar(select(AgsOutbox.id).where(AgsOutbox.dedupe_key == dedupe)) is not None:
            continue
        row = AgsOutbox(
            dedupe_key=dedupe, resource_link=member.resource_link, identity=member.identity, person=person,
            course_slug=course_slug,
            score=Decimal(str(score)).quantize(Decimal("0.01")) if score is not None else None,
            activity_progress="Completed" if completed else "InProgress",
            grading_progress="FullyGraded" if completed else "Pending",
            changed_at=changed_at, status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, created_at=now,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


@events.completion_recorded.connect
def on_completion(sender, *, session, now, completion, **extra):
    queue_score(session, person=completion.person, course_slug=completion.course_version.course.slug,
                score=completion.score, key=f"completion:{completion.id}", completed=True,
                changed_at=completion.completed_at, now=now)


@events.score_changed.connect
def on_score_changed(sender, *, session, now, person=None, course_slug=None, score=None, key=None, **extra):
    if person is None or course_slug is None or score is None or key is None:
        return  # not the payload this receiver understands
    queue_score(session, person=person, course_slug=course_slug, score=score, key=f"score:{key}",
                completed=False, changed_at=now, now=now)


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _service(session: Session, row: AgsOutbox, now: dt.datetime, cache: TokenCache) -> AssignmentsGradesService:
    link = row.resource_link
    platform = link.deployment.platform
    registration = PlatformRegistration(platform, ensure_signing_key(session, now=now))
    context = link.context
    scopes = list(context.ags_scopes) if context is not None and context.ags_scopes else [SCORE_SCOPE]
    data = {"scope": scopes}
    if context is not None and context.lineitems_url:
        data["lineitems"] = context.lineitems_url
    if link.lineitem_url:
        data["lineitem"] = link.lineitem_url
    return AssignmentsGradesService(ToolServiceConnector(registration, cache=cache), data)


def _line_item_url(session: Session, row: AgsOutbox, service: AssignmentsGradesService) -> str:
    link = row.resource_link
    if link.lineitem_url:
        return link.lineitem_url
    if not service._service_data.get("lineitems"):
        raise ServiceFailed("the launch gave neither a line item nor a line items URL")
    wanted = LineItem().set_resource_id(row.course_slug).set_score_maximum(100) \
        .set_label(link.title or row.course_slug).set_resource_link_id(link.resource_link_id)
    found = service.find_or_create_lineitem(wanted, find_by="resource_id")
    if not found.get_id():
        raise ServiceFailed("the platform's line item has no id")
    link.lineitem_url = found.get_id()
    return link.lineitem_url


def send_row(session: Session, row: AgsOutbox, *, now: dt.datetime, cache: TokenCache = TOKENS) -> None:
    """Post one score; raises ServiceFailed when the LMS does not take it."""
    try:
        service = _service(session, row, now, cache)
        line_item = _line_item_url(session, row, service)
        grade = (Grade().set_activity_progress(row.activity_progress).set_grading_progress(row.grading_progress)
                 .set_timestamp(_timestamp(row.changed_at)).set_user_id(row.identity.subject))
        if row.score is not None:
            grade.set_score_given(float(row.score)).set_score_maximum(100)
        else:  # a course waived by a trainer: completed, with no grade to report
            grade.set_comment("Requirement waived by the trainer")
        service.put_grade(grade, LineItem({"id": line_item}))
    except ServiceFailed:
        raise
    except Exception as exc:  # pylti1p3 raises LtiException for scope problems
        raise ServiceFailed(str(exc)) from None


def due_rows(session: Session, *, now: dt.datetime, limit: int = BATCH) -> list[AgsOutbox]:
    """Unsent rows whose time has come and that no older unsent row of the same pair holds back."""
    earlier = aliased(AgsOutbox)
    blocked = exists().where(
        earlier.resource_link_id == AgsOutbox.resource_link_id, earlier.identity_id == AgsOutbox.identity_id,
        earlier.status != OutboxStatus.SENT, earlier.id < AgsOutbox.id,
    )
    return list(session.scalars(
        select(AgsOutbox).where(AgsOutbox.status == OutboxStatus.PENDING, AgsOutbox.next_attempt_at <= now, ~blocked)
        .order_by(AgsOutbox.id).limit(limit)
    ))


def drain_outbox(session: Session, *, now: dt.datetime, cache: TokenCache = TOKENS) -> dict[str, int]:
    """Try every due row once; record successes, and failures with their next attempt."""
    counts = {"sent": 0, "retrying": 0, "failed": 0, "held": 0}
    seen: set[int] = set()
    down: set[int] = set()  # platforms that did not answer in this run: their rows wait
    for _ in range(5):  # a sent row may release the next one of its pair in the same run
        rows = [row for row in due_rows(session, now=now) if row.id not in seen]
        if not rows:
            break
        sent_before = counts["sent"]
        for row in rows:
            seen.add(row.id)
            platform_id = row.resource_link.deployment.platform_id
            if platform_id in down:
                counts["held"] += 1
                continue
            if not _attempt(session, row, counts, now=now, cache=cache):
                down.add(platform_id)
        if counts["sent"] == sent_before:
            break
    return counts


def _attempt(session: Session, row: AgsOutbox, counts: dict[str, int], *, now: dt.datetime, cache: TokenCache) -> bool:
    """One attempt at one row: sent, or failed with its next attempt (or given up).

    False when the platform itself is unreachable or failing (no answer, or 5xx), so that the
    run does not wait on it once per row.
    """
    platform = row.resource_link.deployment.platform
    if platform.status != PlatformStatus.ACTIVE:
        counts["held"] += 1
        return True
    try:
        send_row(session, row, now=now, cache=cache)
    except ServiceFailed as exc:
        row.attempts += 1
        row.last_error = str(exc)[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = OutboxStatus.FAILED
            counts["failed"] += 1
        else:
            row.next_attempt_at = now + backoff(row.attempts)
            counts["retrying"] += 1
        log.warning("AGS score %s not sent (attempt %s): %s", row.id, row.attempts, exc)
        session.flush()
        return not exc.platform_down
    else:
        row.attempts += 1
        row.status = OutboxStatus.SENT
        row.sent_at = now
        row.last_error = None
        counts["sent"] += 1
    session.flush()
    return True


def drain_ags_outbox_job(session: Session, now: dt.datetime, config: dict) -> str:
    """Post the scores waiting in the AGS outbox."""
    counts = drain_outbox(session, now=now)
    return ", ".join(f"{v} {k}" for k, v in counts.items())


def outbox_rows(session: Session, *, status: OutboxStatus | None = None, limit: int = 500) -> list[AgsOutbox]:
    """Rows for the scores page: unsent first (pending and failed), newest first."""
    query = select(AgsOutbox).order_by(AgsOutbox.created_at.desc(), AgsOutbox.id.desc()).limit(limit)
    if status is not None:
        query = query.where(AgsOutbox.status == status)
    else:
        query = query.where(AgsOutbox.status != OutboxStatus.SENT)
    return list(session.scalars(query))


def get_row(session: Session, row_id: int) -> AgsOutbox:
    row = session.get(AgsOutbox, row_id)
    if row is None:
        raise NotFound(f"No queued score {row_id}.")
    return row


def retry_row(session: Session, row: AgsOutbox, *, actor: Actor, now: dt.datetime) -> AgsOutbox:
    """Send an unsent score at the next run (a sent one is never sent again)."""
    actor.require(LTI_SCORES)
    if row.status == OutboxStatus.SENT:
        return row
    row.status = OutboxStatus.PENDING
    row.next_attempt_at = now
    if row.attempts >= MAX_ATTEMPTS:
        row.attempts = MAX_ATTEMPTS - 1  # one more try before it fails again
    record_audit(session, actor, "lti.score_retry", row.person, now=now,
                 detail={"outbox_id": row.id, "course": row.course_slug})
    return row
