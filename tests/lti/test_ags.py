"""Grades back to the LMS: outbox rows from the learning signals, a job with retries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from tests.conftest import NOW, count


@dataclass
class Course:
    slug: str


@dataclass
class Version:
    course: Course


@dataclass
class Completion:
    """Exactly the attributes the learning area's completion carries."""

    id: int
    person: object
    course_version: Version
    score: float | None
    completed_at: dt.datetime


def _learner(session, driver, user="Learner-1", hint="link-1"):
    from vcollege.lti.models import LtiIdentity

    response, _ = driver.launch(user, hint)
    assert response.status_code == 302
    return session.query(LtiIdentity).filter_by(subject=user).one().person


def _complete(session, person, *, slug="cites-basics", score=87.5, completion_id=1, now=NOW):
    from vcollege import events

    completion = Completion(completion_id, person, Version(Course(slug)), score, now - dt.timedelta(minutes=5))
    events.completion_recorded.send("learning", session=session, now=now, completion=completion)
    return completion


def test_completion_queues_once_and_is_sent_after_the_lms_recovers(session, registered, driver, platform, tool_jwks):
    from vcollege.lti.ags import drain_outbox
    from vcollege.lti.models import AgsOutbox

    person = _learner(session, driver)
    _complete(session, person)
    _complete(session, person)  # the same completion again: no second row
    row = session.query(AgsOutbox).one()
    assert (row.status, row.activity_progress, row.grading_progress) == ("pending", "Completed", "FullyGraded")

    platform.fail_scores = 2
    assert drain_outbox(session, now=NOW)["retrying"] == 1
    assert (row.attempts, row.next_attempt_at, row.status) == (1, NOW + dt.timedelta(minutes=1), "pending")
    assert "503" in row.last_error
    assert drain_outbox(session, now=NOW + dt.timedelta(seconds=30)) == {"sent": 0, "retrying": 0, "failed": 0, "held": 0}
    drain_outbox(session, now=NOW + dt.timedelta(minutes=1))
    assert (row.attempts, row.next_attempt_at) == (2, NOW + dt.timedelta(minutes=3))  # backoff doubles
    assert drain_outbox(session, now=NOW + dt.timedelta(minutes=3))["sent"] == 1
    assert row.status == "sent" and row.sent_at == NOW + dt.timedelta(minutes=3) and row.last_error is None

    assert len(platform.scores) == 1
    score = platform.scores[0]
    assert score["userId"] == "Learner-1" and score["scoreGiven"] == 87.5 and score["scoreMaximum"] == 100
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
    assert score["timestamp"] == "2026-11-28T11:55:00.000Z"
    # the line item was created by resource id, once
    assert [(i["resourceId"], i["scoreMaximum"]) for i in platform.lineitems.values()] == [("cites-basics", 100)]
    # nothing is sent twice; the access token was fetched once and cached
    requests_before = platform.score_requests
    drain_outbox(session, now=NOW + dt.timedelta(hours=1))
    assert platform.score_requests == requests_before and len(platform.scores) == 1
    assert platform.token_requests == 1


def test_the_line_item_is_found_by_resource_id_on_a_later_page(session, registered, driver, platform, tool_jwks):
    from vcollege.lti.ags import drain_outbox
    from vcollege.lti.models import LtiResourceLink

    for n, resource in enumerate(("other-a", "other-b", "cites-basics"), start=1):
        platform.lineitems[f"Item{n}"] = {"id": f"{platform.lineitems_url}/Item{n}", "resourceId": resource,
                                          "scoreMaximum": 100, "label": resource}
    platform.lineitem_page_size = 1
    person = _learner(session, driver)
    _complete(session, person)
    # the tool asks without a filter the platform honours: walk every page, case kept
    assert drain_outbox(session, now=NOW)["sent"] == 1
    assert platform.scores[0]["lineItem"] == "Item3" and len(platform.lineitems) == 3
    link = session.query(LtiResourceLink).one()
    assert (link.lineitem_url, link.found_lineitem_url) == (None, f"{platform.lineitems_url}/Item3")
    _learner(session, driver)  # the same claim again: the line item found is kept, not looked up again
    assert link.found_lineitem_url == f"{platform.lineitems_url}/Item3"


def test_a_line_item_given_by_the_launch_is_used(session, registered, driver, platform, tool_jwks):
    from vcollege.lti.ags import drain_outbox

    platform.lineitems["Item1"] = {"id": f"{platform.lineitems_url}/Item1", "scoreMaximum": 100, "label": "x"}
    platform.resource_link_message("with-item", link_id="Link-2", custom={"course": "cites-basics"},
                                   lineitem=f"{platform.lineitems_url}/Item1")
    person = _learner(session, driver, hint="with-item")
    _complete(session, person)
    drain_outbox(session, now=NOW)
    assert platform.scores[0]["lineItem"] == "Item1" and len(platform.lineitems) == 1


def test_a_changed_score_goes_as_in_progress_and_a_newer_score_supersedes_it(session, registered, driver, platform,
                                                                             tool_jwks):
    from vcollege import events
    from vcollege.lti.ags import drain_outbox
    from vcollege.lti.models import AgsOutbox

    person = _learner(session, driver)
    events.score_changed.send("learning", session=session, now=NOW, person=person, course_slug="cites-basics",
                              score=40, key="attempt-1")
    events.score_changed.send("learning", session=session, now=NOW, person=person, course_slug="cites-basics",
                              score=40, key="attempt-1")  # the same change: queued once
    first = session.query(AgsOutbox).one()
    assert (first.activity_progress, first.grading_progress, first.status) == ("InProgress", "Pending", "pending")
    platform.fail_scores = 1
    drain_outbox(session, now=NOW)
    assert first.status == "pending" and first.attempts == 1
    _complete(session, person, score=90)  # the LMS only needs the latest score
    first, second = session.query(AgsOutbox).order_by(AgsOutbox.id).all()
    assert (first.status, second.status) == ("superseded", "pending")
    assert drain_outbox(session, now=NOW + dt.timedelta(minutes=1))["sent"] == 1
    assert [(s["scoreGiven"], s["activityProgress"]) for s in platform.scores] == [(90, "Completed")]
    assert drain_outbox(session, now=NOW + dt.timedelta(hours=2))["sent"] == 0  # the superseded row never goes
    assert len(platform.scores) == 1 and first.status == "superseded"


def test_a_row_that_failed_for_good_does_not_hold_back_newer_scores(session, registered, driver, platform, tool_jwks):
    from vcollege import events
    from vcollege.lti.ags import MAX_ATTEMPTS, drain_outbox, due_rows
    from vcollege.lti.models import AgsOutbox

    person = _learner(session, driver)
    events.score_changed.send("learning", session=session, now=NOW, person=person, course_slug="cites-basics",
                              score=40, key="attempt-1")
    row = session.query(AgsOutbox).one()
    platform.fail_scores = MAX_ATTEMPTS
    moment = NOW
    for _ in range(MAX_ATTEMPTS):
        drain_outbox(session, now=moment)
        moment = row.next_attempt_at
    assert row.status == "failed"
    _complete(session, person, score=90, now=moment)
    newer = session.query(AgsOutbox).order_by(AgsOutbox.id.desc()).first()
    assert row.status == "superseded" and [r.id for r in due_rows(session, now=moment)] == [newer.id]
    assert drain_outbox(session, now=moment)["sent"] == 1 and platform.scores[-1]["scoreGiven"] == 90


def test_a_retry_never_revives_a_superseded_row(session, registered, driver, platform, tool_jwks, operator):
    from vcollege import events
    from vcollege.lti.ags import retry_row
    from vcollege.lti.models import AgsOutbox

    person = _learner(session, driver)
    events.score_changed.send("learning", session=session, now=NOW, person=person, course_slug="cites-basics",
                              score=40, key="attempt-1")
    _complete(session, person, score=90)
    old = session.query(AgsOutbox).order_by(AgsOutbox.id).first()
    retry_row(session, old, actor=operator, now=NOW)
    assert old.status == "superseded"


def test_no_row_for_a_link_whose_launch_gave_no_ags_endpoint(session, registered, driver, platform):
    from vcollege.lti.models import AgsOutbox, LtiResourceLink

    platform.resource_link_message("no-ags", link_id="Link-7", custom={"course": "cites-basics"}, ags=False)
    person = _learner(session, driver, hint="no-ags")
    link = session.query(LtiResourceLink).one()
    assert (link.lineitem_url, link.lineitems_url, link.ags_scopes) == (None, None, [])
    _complete(session, person)
    assert count(session, AgsOutbox) == 0


def test_a_launch_records_its_own_grade_service_on_its_link(session, registered, driver, platform):
    from tests.lti.platform import LINEITEM_READ, LINEITEM_SCOPE, SCORE_SCOPE
    from vcollege.lti.models import LtiResourceLink

    platform.resource_link_message("with-item", link_id="Link-2", custom={"course": "cites-basics"},
                                   lineitem=f"{platform.lineitems_url}/Item9")
    _learner(session, driver)
    _learner(session, driver, hint="with-item")
    first, second = session.query(LtiResourceLink).order_by(LtiResourceLink.id).all()
    assert (first.lineitem_url, first.lineitems_url) == (None, platform.lineitems_url)
    assert (second.lineitem_url, second.lineitems_url) == (f"{platform.lineitems_url}/Item9", platform.lineitems_url)
    assert first.ags_scopes == second.ags_scopes == sorted([SCORE_SCOPE, LINEITEM_SCOPE, LINEITEM_READ])


@pytest.mark.parametrize("graded_first", [False, True])
def test_an_ungraded_activity_gets_no_score_through_another_activity_of_its_lms_course(
        session, registered, driver, platform, tool_jwks, graded_first):
    """Review D4: "Ungraded-1" was launched without the AGS claim; "Graded-1", another
    activity of the same LMS course (context), gave a line items URL. A score for
    Ungraded-1 must not be queued, and no line item "Activity Ungraded-1" may appear in the
    LMS gradebook."""
    from vcollege.lti.ags import drain_outbox
    from vcollege.lti.models import AgsOutbox, LtiResourceLink

    platform.resource_link_message("ungraded", link_id="Ungraded-1", custom={"course": "cites-basics"}, ags=False)
    platform.resource_link_message("graded", link_id="Graded-1")  # graded in the LMS, no course linked yet
    for hint in (("graded", "ungraded") if graded_first else ("ungraded", "graded")):
        response, _ = driver.launch("Learner-1", hint)
        assert response.status_code in (200, 302), response.get_data(as_text=True)
    graded = session.query(LtiResourceLink).filter_by(resource_link_id="Graded-1").one()
    person = graded.members[0].identity.person
    _complete(session, person, score=87.5)
    assert count(session, AgsOutbox) == 0
    assert drain_outbox(session, now=NOW) == {"sent": 0, "retrying": 0, "failed": 0, "held": 0}
    assert platform.lineitems == {} and platform.scores == [] and platform.score_requests == 0


def test_a_later_launch_without_the_claim_takes_the_grade_service_away(session, registered, driver, platform,
                                                                        tool_jwks):
    from vcollege.lti.ags import drain_outbox
    from vcollege.lti.models import AgsOutbox, LtiResourceLink

    person = _learner(session, driver)
    link = session.query(LtiResourceLink).one()
    assert link.lineitems_url == platform.lineitems_url and link.ags_scopes
    _complete(session, person, completion_id=1)  # queued while the link had its grade service
    platform.resource_link_message("link-1", link_id="Link-1", custom={"course": "cites-basics"}, ags=False)
    _learner(session, driver)
    assert (link.lineitem_url, link.lineitems_url, link.found_lineitem_url, link.ags_scopes) == (None, None, None, [])
    _complete(session, person, completion_id=2)
    assert count(session, AgsOutbox) == 1  # nothing new for a link without a grade service
    # the row queued before fails at once, without asking the LMS anything
    assert drain_outbox(session, now=NOW) == {"sent": 0, "retrying": 0, "failed": 1, "held": 0}
    row = session.query(AgsOutbox).one()
    assert row.status == "failed" and "no grade service" in row.last_error
    assert platform.lineitems == {} and platform.score_requests == 0 and platform.token_requests == 0


def test_a_crash_after_a_score_was_sent_does_not_send_it_again(session, registered, driver, platform, tool_jwks,
                                                                 monkeypatch):
    from vcollege.lti import ags
    from vcollege.lti.models import AgsOutbox

    platform.add_user("Learner-2", "Sita Gurung")
    first = _learner(session, driver)
    second = _learner(session, driver, user="Learner-2")
    _complete(session, first, completion_id=1)
    _complete(session, second, completion_id=2)
    real, posts = ags.post_score, []

    def post_then_crash(post):
        posts.append(post.row_id)
        if len(posts) == 2:
            raise RuntimeError("the job process died")
        return real(post)

    monkeypatch.setattr(ags, "post_score", post_then_crash)
    with pytest.raises(RuntimeError):
        ags.drain_outbox(session, now=NOW)
    session.rollback()  # what the job runner does with a run that raised
    rows = session.query(AgsOutbox).order_by(AgsOutbox.id).all()
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1), ("pending", 1)]
    assert len(platform.scores) == 1
    monkeypatch.setattr(ags, "post_score", real)
    assert ags.drain_outbox(session, now=NOW + dt.timedelta(minutes=1))["sent"] == 1  # the second, after its backoff
    assert [s["userId"] for s in platform.scores] == ["Learner-1", "Learner-2"]  # the first was not sent again


def test_no_transaction_is_open_while_the_lms_is_called(session, registered, driver, platform, tool_jwks, monkeypatch):
    from vcollege.lti import ags

    person = _learner(session, driver)
    _complete(session, person)
    real, open_during_calls = ags.post_score, []

    def watched(post):
        open_during_calls.append(session().in_transaction())
        return real(post)

    monkeypatch.setattr(ags, "post_score", watched)
    assert ags.drain_outbox(session, now=NOW)["sent"] == 1
    assert open_during_calls == [False]


def test_no_row_for_a_person_who_never_launched_the_course(session, registered, driver, make_person):
    from vcollege.lti.models import AgsOutbox

    _complete(session, make_person())
    person = _learner(session, driver)
    _complete(session, person, slug="another-course", completion_id=2)
    assert count(session, AgsOutbox) == 0


def test_rows_fail_after_max_attempts_and_a_trainer_retries(session, registered, driver, platform, tool_jwks,
                                                            app, client, make_staff):
    from vcollege.core.models import AuditEntry, Role
    from vcollege.lti.ags import MAX_ATTEMPTS, drain_outbox
    from vcollege.lti.models import AgsOutbox

    person = _learner(session, driver)
    _complete(session, person)
    row = session.query(AgsOutbox).one()
    platform.fail_scores = MAX_ATTEMPTS
    moment = NOW
    for _ in range(MAX_ATTEMPTS):
        drain_outbox(session, now=moment)
        moment = row.next_attempt_at
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS

    from tests.conftest import csrf_token

    client = app.test_client()  # the trainer's own browser (FreshClient, see conftest)
    trainer = make_staff(Role.TRAINER)
    with client.session_transaction() as flask_session:
        flask_session.update({"_user_id": str(trainer.id), "_fresh": True, "vcollege_via": "password"})
    page = client.get("/lti/scores")
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    assert "Wanjiru Kamau" in text and "Failed" in text and "Retry now" in text
    response = client.post(f"/lti/scores/{row.id}/retry", data={"csrf_token": csrf_token(client, "/lti/scores")})
    assert response.status_code == 302
    assert row.status == "pending" and count(session, AuditEntry, AuditEntry.action == "lti.score_retry") == 1
    drain_outbox(session, now=row.next_attempt_at)
    assert row.status == "sent" and len(platform.scores) == 1


def test_scores_page_is_closed_to_learners(client, sign_in, make_person):
    sign_in(make_person(), via="lti:https://lms.example.org")
    assert client.get("/lti/scores").status_code == 403


def test_scores_wait_while_the_platform_is_disabled(session, registered, driver, platform, tool_jwks, operator):
    from vcollege.lti.ags import drain_outbox
    from vcollege.lti.platforms import approve_platform, disable_platform

    person = _learner(session, driver)
    _complete(session, person)
    disable_platform(session, registered, actor=operator, now=NOW)
    assert drain_outbox(session, now=NOW)["held"] == 1 and platform.score_requests == 0
    approve_platform(session, registered, actor=operator, now=NOW)
    assert drain_outbox(session, now=NOW)["sent"] == 1


def test_the_outbox_job_runs_through_the_runner(app, session, registered, driver, platform, tool_jwks):
    from vcollege.lti.ags import drain_ags_outbox_job

    person = _learner(session, driver)
    _complete(session, person)
    assert drain_ags_outbox_job(session, NOW, app.config).startswith("1 sent")


def test_access_tokens_are_reused_until_they_expire():
    from vcollege.lti.tool import TokenCache

    clock = [1000.0]
    cache = TokenCache(clock=lambda: clock[0])
    cache.put(("url", "client", ("s",)), "token-1", 3600)
    assert cache.get(("url", "client", ("s",))) == "token-1"
    clock[0] += 3600 - TokenCache.MARGIN
    assert cache.get(("url", "client", ("s",))) is None


def test_expired_token_is_fetched_again(session, registered, driver, platform, tool_jwks):
    from vcollege.lti import ags
    from vcollege.lti.tool import TokenCache

    clock = [0.0]
    cache = TokenCache(clock=lambda: clock[0])
    person = _learner(session, driver)
    _complete(session, person, completion_id=1)
    ags.drain_outbox(session, now=NOW, cache=cache)
    _complete(session, person, completion_id=2)
    ags.drain_outbox(session, now=NOW, cache=cache)
    assert platform.token_requests == 1
    clock[0] += platform.token_lifetime
    _complete(session, person, completion_id=3)
    ags.drain_outbox(session, now=NOW, cache=cache)
    assert platform.token_requests == 2 and len(platform.scores) == 3


@pytest.mark.parametrize("header, expected", [
    ('<https://lms.example.org/Api/Members?Page=2&Token=AbC>; rel="next"', "https://lms.example.org/Api/Members?Page=2&Token=AbC"),
    ('<https://x.org/A?p=1>; rel="prev", <https://x.org/B?P=3>; rel="next", <https://x.org/C>; rel="last"', "https://x.org/B?P=3"),
    ('<https://x.org/C>; rel="last"', None),
    ("", None),
])
def test_next_link_keeps_the_url_exactly(header, expected):
    from vcollege.lti.tool import next_link

    assert next_link(header) == expected


def test_a_down_platform_is_tried_once_per_run(session, registered, driver, platform, tool_jwks):
    from vcollege.lti.ags import drain_outbox
    from vcollege.lti.models import AgsOutbox

    platform.add_user("Learner-2", "Sita Gurung")
    first = _learner(session, driver)
    second = _learner(session, driver, user="Learner-2")
    _complete(session, first, completion_id=1)
    _complete(session, second, completion_id=2)
    platform.fail_scores = 5
    counts = drain_outbox(session, now=NOW)
    assert counts == {"sent": 0, "retrying": 1, "failed": 0, "held": 1}
    assert platform.score_requests == 1  # the second row did not wait on the down LMS
    rows = session.query(AgsOutbox).order_by(AgsOutbox.id).all()
    assert [r.attempts for r in rows] == [1, 0]
    platform.fail_scores = 0
    assert drain_outbox(session, now=NOW + dt.timedelta(minutes=1))["sent"] == 2


def test_an_unreachable_platform_is_retried_later(session, registered, driver, platform, tool_jwks):
    from vcollege.lti.ags import drain_outbox
    from vcollege.lti.models import AgsOutbox

    person = _learner(session, driver)
    _complete(session, person)
    platform.stop()  # the LMS is gone: connection refused
    assert drain_outbox(session, now=NOW)["retrying"] == 1
    row = session.query(AgsOutbox).one()
    assert row.status == "pending" and "unreachable" in row.last_error


def test_removing_a_platform_removes_what_hangs_on_it(session, registered, driver, platform, operator):
    from vcollege.core.models import Person
    from vcollege.lti.models import (
        AgsOutbox,
        LtiContext,
        LtiDeployment,
        LtiIdentity,
        LtiLaunch,
        LtiResourceLink,
        LtiResourceLinkMember,
    )
    from vcollege.lti.platforms import remove_platform

    person = _learner(session, driver)
    _complete(session, person)
    assert count(session, AgsOutbox) == 1
    remove_platform(session, registered, actor=operator, now=NOW)
    session.expire_all()
    for model in (LtiDeployment, LtiContext, LtiResourceLink, LtiResourceLinkMember, LtiLaunch, AgsOutbox):
        assert count(session, model) == 0, model.__name__
    # people and their LMS identity stay: they are the learner's, not the platform's
    assert count(session, Person, Person.id == person.id) == 1 and count(session, LtiIdentity) == 1


def test_a_waived_course_is_sent_as_completed_without_a_score(session, registered, driver, platform, tool_jwks):
    """A whole-course waiver has no score: the LMS hears "completed" and gets no grade."""
    from vcollege.lti.ags import drain_outbox
    from vcollege.lti.models import AgsOutbox

    person = _learner(session, driver)
    _complete(session, person, score=None)
    row = session.query(AgsOutbox).one()
    assert row.score is None and row.activity_progress == "Completed"
    assert drain_outbox(session, now=NOW)["sent"] == 1
    posted = platform.scores[-1]
    assert "scoreGiven" not in posted and posted["activityProgress"] == "Completed"
    assert posted["comment"] == "Requirement waived by the trainer"
