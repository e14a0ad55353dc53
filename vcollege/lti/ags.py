"""Assignment and Grade Services: an outbox of scores, drained by a job.

Invariants:
- a completion or a changed score writes one outbox row per resource link the learner
  launched for that course and whose OWN latest launch carried the AGS claim (a line item or
  a line items URL), in the same session as its cause (no commit here); links without it get
  none, whatever other activities of the same LMS course gave (a context's line items are
  never used for another link);
- each row has a unique dedupe key (the change and the link), so the same change is queued
  once, and a row that was sent is never sent again;
- the LMS only needs a learner's latest score: a new row supersedes the older unsent rows
  (pending or failed) of the same (link, learner), which are never sent; so a row that
  failed for good never holds back the newer ones;
- rows for one (link, learner) go out in the order they were made; a later one waits while
  an earlier one is unsent, so the LMS never sees an older score after a newer one;
- a failed attempt is retried with exponential backoff (1 min doubling to 6 h); after
  MAX_ATTEMPTS the row is `failed` and stays until a trainer or the Secretariat retries it;
- the drain commits each row's attempt before calling the LMS and its result right after,
  so no transaction is open (and no lock held) while it waits on an LMS, and a crash after
  a successful post does not send the score again at once;
- a row is sent only with its link's own grade service (URLs and scopes of the link's latest
  launch); a row whose link has lost it (a later launch without the claim) fails at once,
  without asking the LMS anything;
- the line item is the one the link's launch named, else the one found (or created) in the
  link's line items URL by resourceId = course slug, following every `rel="next"` page.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from vcollege import events
from vcollege.core.audit import record_audit
from vcollege.core.permissions import Actor
from vcollege.errors import NotFound
from vcollege.extensions import utc_timestamp
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

MAX_ATTEMPTS = 10
FIRST_DELAY = dt.timedelta(minutes=1)
MAX_DELAY = dt.timedelta(hours=6)
BATCH = 200
UNSENT = (OutboxStatus.PENDING, OutboxStatus.FAILED)


class NoGradeService(ServiceFailed):
    """The row's link has no grade service (any more): nothing to try until a launch gives one."""


def backoff(attempts: int) -> dt.timedelta:
    """Delay before the next try after `attempts` failures: 1, 2, 4 ... minutes, at most 6 h."""
    return min(FIRST_DELAY * (2 ** max(0, attempts - 1)), MAX_DELAY)


def _targets(session: Session, person_id: int, course_slug: str) -> list[LtiResourceLinkMember]:
    """The (link, identity) pairs a score for the course goes to: links of the course that the
    person launched and whose own latest launch gave a grade service."""
    return list(session.scalars(
        select(LtiResourceLinkMember).join(LtiResourceLinkMember.resource_link).join(LtiResourceLinkMember.identity)
        .where(LtiResourceLink.course_slug == course_slug, LtiIdentity.person_id == person_id,
               or_(LtiResourceLink.lineitem_url.is_not(None), LtiResourceLink.lineitems_url.is_not(None)))
        .order_by(LtiResourceLinkMember.id)
    ))


def queue_score(session: Session, *, person, course_slug: str, score, key: str, completed: bool,
                changed_at: dt.datetime, now: dt.datetime) -> list[AgsOutbox]:
    """Queue `score` for every AGS link the person launched for the course, once per key and
    link; it supersedes the older unsent rows of the same link and learner."""
    rows = []
    for member in _targets(session, person.id, course_slug):
        dedupe = f"{key}:link{member.resource_link_id}:id{member.identity_id}"[:200]
        if session.scalar(select(AgsOutbox.id).where(AgsOutbox.dedupe_key == dedupe)) is not None:
            continue
        session.execute(
            update(AgsOutbox).where(AgsOutbox.resource_link_id == member.resource_link_id,
                                    AgsOutbox.identity_id == member.identity_id, AgsOutbox.status.in_(UNSENT))
            .values(status=OutboxStatus.SUPERSEDED).execution_options(synchronize_session="fetch")
        )
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


@dataclass
class ScorePost:
    """Everything one attempt needs, read from the database beforehand: posting it touches
    no database object."""

    row_id: int
    link_id: int
    service: AssignmentsGradesService
    lineitem_url: str | None  # None: find or create it by resource id in `lineitems_url`
    lineitems_url: str | None
    wanted: LineItem
    grade: Grade


def prepare_post(session: Session, row: AgsOutbox, *, now: dt.datetime, cache: TokenCache = TOKENS) -> ScorePost:
    """Read what posting `row` needs, from the row's link only; raises NoGradeService when the
    link's latest launch gave no grade service."""
    link = row.resource_link
    if not link.lineitem_url and not link.lineitems_url:
        raise NoGradeService("the activity's latest launch carried no grade service (no AGS claim)")
    platform = link.deployment.platform
    registration = PlatformRegistration(platform, ensure_signing_key(session, now=now))
    data: dict = {"scope": list(link.ags_scopes or [])}
    if link.lineitems_url:
        data["lineitems"] = link.lineitems_url
    if link.lineitem_url:
        data["lineitem"] = link.lineitem_url
    wanted = LineItem().set_resource_id(row.course_slug).set_score_maximum(100) \
        .set_label(link.title or row.course_slug).set_resource_link_id(link.resource_link_id)
    grade = (Grade().set_activity_progress(row.activity_progress).set_grading_progress(row.grading_progress)
             .set_timestamp(utc_timestamp(row.changed_at, timespec="milliseconds")).set_user_id(row.identity.subject))
    if row.score is not None:
        grade.set_score_given(float(row.score)).set_score_maximum(100)
    else:  # a course waived by a trainer: completed, with no grade to report
        grade.set_comment("Requirement waived by the trainer")
    service = AssignmentsGradesService(ToolServiceConnector(registration, cache=cache), data)
    return ScorePost(row.id, link.id, service, link.lineitem_url or link.found_lineitem_url, link.lineitems_url,
                     wanted, grade)


def post_score(post: ScorePost) -> str:
    """Post one score to the LMS (finding or creating the line item first when needed); the
    line item's URL, or ServiceFailed when the LMS does not take it."""
    try:
        line_item = post.lineitem_url
        if not line_item:
            found = post.service.find_or_create_lineitem(post.wanted, find_by="resource_id")
            line_item = found.get_id()
            if not line_item:
                raise ServiceFailed("the platform's line item has no id")
        post.service.put_grade(post.grade, LineItem({"id": line_item}))
    except ServiceFailed:
        raise
    except Exception as exc:  # pylti1p3 raises LtiException for scope problems
        raise ServiceFailed(str(exc)) from None
    return line_item


def due_rows(session: Session, *, now: dt.datetime, limit: int = BATCH) -> list[AgsOutbox]:
    """Unsent rows whose time has come and that no older unsent row of the same pair holds back."""
    earlier = aliased(AgsOutbox)
    blocked = exists().where(
        earlier.resource_link_id == AgsOutbox.resource_link_id, earlier.identity_id == AgsOutbox.identity_id,
        earlier.status.in_(UNSENT), earlier.id < AgsOutbox.id,
    )
    return list(session.scalars(
        select(AgsOutbox).where(AgsOutbox.status == OutboxStatus.PENDING, AgsOutbox.next_attempt_at <= now, ~blocked)
        .order_by(AgsOutbox.id).limit(limit)
    ))


def drain_outbox(session: Session, *, now: dt.datetime, cache: TokenCache = TOKENS) -> dict[str, int]:
    """Try every due row once; record successes, and failures with their next attempt.

    Unlike other jobs, this one COMMITS: it records each attempt before calling the LMS and
    its result right after (one commit per step), so that no transaction stays open, and no
    lock held, while it waits on an LMS over HTTP, and a score the LMS took is on record at
    once (a crash later in the run does not send it again).
    """
    counts = {"sent": 0, "retrying": 0, "failed": 0, "held": 0}
    seen: set[int] = set()
    down: set[int] = set()  # platforms that did not answer in this run: their rows wait
    while True:  # a sent row may release the next one of its pair in the same run
        rows = [row for row in due_rows(session, now=now) if row.id not in seen]
        session.commit()
        if not rows:
            break
        sent_before = counts["sent"]
        for row in rows:
            seen.add(row.id)
            if row.status != OutboxStatus.PENDING or row.next_attempt_at > now:
                continue  # superseded, or tried, since the rows were read
            platform_id = row.resource_link.deployment.platform_id
            if platform_id in down:
                counts["held"] += 1
                continue
            if not _attempt(session, row, counts, now=now, cache=cache):
                down.add(platform_id)
        if counts["sent"] == sent_before:
            break
    session.commit()
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
    row.attempts += 1
    row.next_attempt_at = now + backoff(row.attempts)
    row_id = row.id
    error: ServiceFailed | None = None
    try:
        post = prepare_post(session, row, now=now, cache=cache)
    except ServiceFailed as exc:
        post, error = None, exc
    session.commit()  # the attempt is on record; nothing is open while the LMS is called
    line_item = None
    if post is not None:
        try:
            line_item = post_score(post)
        except ServiceFailed as exc:
            error = exc
    row = session.get(AgsOutbox, row_id)
    if error is not None:
        row.last_error = str(error)[:2000]
        if row.attempts >= MAX_ATTEMPTS or isinstance(error, NoGradeService):
            row.status = OutboxStatus.FAILED
            counts["failed"] += 1
        else:
            counts["retrying"] += 1
        log.warning("AGS score %s not sent (attempt %s): %s", row.id, row.attempts, error)
        session.commit()
        return not error.platform_down
    row.status = OutboxStatus.SENT
    row.sent_at = now
    row.last_error = None
    if post.lineitem_url is None:
        link = session.get(LtiResourceLink, post.link_id)
        if link.lineitem_url is None and link.lineitems_url == post.lineitems_url:  # no launch changed it meanwhile
            link.found_lineitem_url = line_item
    counts["sent"] += 1
    session.commit()
    return True


def drain_ags_outbox_job(session: Session, now: dt.datetime, config: dict) -> str:
    """Post the scores waiting in the AGS outbox (commits per row, see `drain_outbox`)."""
    counts = drain_outbox(session, now=now)
    return ", ".join(f"{v} {k}" for k, v in counts.items())


def outbox_rows(session: Session, *, status: OutboxStatus | None = None, limit: int = 500) -> list[AgsOutbox]:
    """Rows for the scores page: by default those not sent yet (pending and failed), newest first."""
    query = select(AgsOutbox).order_by(AgsOutbox.created_at.desc(), AgsOutbox.id.desc()).limit(limit)
    if status is not None:
        query = query.where(AgsOutbox.status == status)
    else:
        query = query.where(AgsOutbox.status.in_(UNSENT))
    return list(session.scalars(query))


def get_row(session: Session, row_id: int) -> AgsOutbox:
    row = session.get(AgsOutbox, row_id)
    if row is None:
        raise NotFound(f"No queued score {row_id}.")
    return row


def retry_row(session: Session, row: AgsOutbox, *, actor: Actor, now: dt.datetime) -> AgsOutbox:
    """Send an unsent score at the next run (a sent or superseded one is never sent again)."""
    actor.require(LTI_SCORES)
    if row.status not in UNSENT:
        return row
    row.status = OutboxStatus.PENDING
    row.next_attempt_at = now
    if row.attempts >= MAX_ATTEMPTS:
        row.attempts = MAX_ATTEMPTS - 1  # one more try before it fails again
    record_audit(session, actor, "lti.score_retry", row.person, now=now,
                 detail={"outbox_id": row.id, "course": row.course_slug})
    return row
