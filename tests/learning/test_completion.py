"""The completion rule and its edge cases, quizzes, waivers, attendance and the signals."""

import datetime as dt
from contextlib import contextmanager

import pytest

from tests.conftest import NOW, count
from tests.learning.conftest import HALF, RIGHT, WRONG, enrol, finish_basics, learner_actor
from vcollege import events
from vcollege.core.models import AuditEntry
from vcollege.errors import Conflict, Forbidden, InvalidInput, NotFound
from vcollege.learning.models import (
    Completion,
    Credential,
    EnrolmentStatus,
    ImmutableCompletion,
    QuizAttempt,
)
from vcollege.learning.service import (
    PrerequisitesMissing,
    course_state,
    mark_read,
    open_module,
    record_attendance_rate,
    submit_quiz,
    waive_course,
    waive_module,
)


@contextmanager
def caught(signal):
    received = []

    def receiver(sender, **payload):
        received.append(payload)

    signal.connect(receiver)
    try:
        yield received
    finally:
        signal.disconnect(receiver)


def test_quiz_with_several_correct_choices_needs_exactly_those(session, courses, learner):
    enrolment = enrol(session, learner, courses["cites-basics"])
    actor = learner_actor(learner)
    outcome = submit_quiz(session, enrolment, "appendices", {"q1": ["a"], "q2": ["a"]}, language="en", actor=actor, now=NOW)
    assert (outcome.grade.correct, outcome.grade.total) == (1, 2) and outcome.attempt.score == 50
    assert outcome.grade.questions[1].correct_choices == ("a", "b") and not outcome.grade.questions[1].right
    outcome = submit_quiz(session, enrolment, "appendices", {"q1": ["a"], "q2": ["a", "b", "c"]}, language="en", actor=actor, now=NOW)
    assert outcome.attempt.score == 50  # ticking a wrong choice too is wrong
    outcome = submit_quiz(session, enrolment, "appendices", {"q1": "a", "q2": ["b", "a"]}, language="fr", actor=actor, now=NOW)
    assert outcome.attempt.score == 100 and outcome.attempt.passed and outcome.attempt.language == "fr"


def test_unanswered_or_unknown_choices_are_refused_and_cost_no_attempt(session, courses, learner):
    enrolment = enrol(session, learner, courses["cites-basics"])
    actor = learner_actor(learner)
    for answers, field in (({"q1": ["a"]}, "q2"), ({"q1": ["z"], "q2": ["a"]}, "q1"),
                           ({"q1": ["a", "b"], "q2": ["a"]}, "q1"), ({**RIGHT, "q9": ["a"]}, "q9")):
        with pytest.raises(InvalidInput) as error:
            submit_quiz(session, enrolment, "appendices", answers, language="en", actor=actor, now=NOW)
        assert field in error.value.errors
    assert count(session, QuizAttempt) == 0


def test_retakes_are_limited_and_the_best_counts(session, courses, learner):
    enrolment = enrol(session, learner, courses["cites-basics"])
    actor = learner_actor(learner)
    mark_read(session, enrolment, "authorities", actor=actor, now=NOW)
    with caught(events.score_changed) as scores:
        submit_quiz(session, enrolment, "appendices", HALF, language="en", actor=actor, now=NOW)
        submit_quiz(session, enrolment, "appendices", WRONG, language="en", actor=actor, now=NOW)
        state = course_state(enrolment)
        assert state.module("appendices").best_percent == 50 and state.module("appendices").attempts_left == 1
        assert not state.holds and enrolment.completion is None
        outcome = submit_quiz(session, enrolment, "appendices", RIGHT, language="en", actor=actor, now=NOW)
    assert outcome.completion is not None and outcome.completion.score == 100
    assert [s["score"] for s in scores] == [50.0]  # the worse retake changed nothing; completion ended it
    assert scores[0]["person"] is learner and scores[0]["course_slug"] == "cites-basics" and scores[0]["key"]


def test_attempts_run_out(session, courses, learner):
    enrolment = enrol(session, learner, courses["cites-basics"])
    actor = learner_actor(learner)
    for _ in range(3):
        submit_quiz(session, enrolment, "appendices", WRONG, language="en", actor=actor, now=NOW)
    with pytest.raises(Conflict) as error:
        submit_quiz(session, enrolment, "appendices", RIGHT, language="en", actor=actor, now=NOW)
    assert "attempts" in error.value.errors
    assert count(session, QuizAttempt) == 3
    assert course_state(enrolment).blocked


def test_completion_is_recorded_once_with_signal_credential_and_party(session, courses, learner):
    with caught(events.completion_recorded) as completions:
        enrolment = finish_basics(session, learner, courses["cites-basics"])
    completion = enrolment.completion
    assert enrolment.status == EnrolmentStatus.COMPLETED
    assert [c["completion"] for c in completions] == [completion]
    assert completions[0]["session"] is session and completions[0]["now"] == NOW
    assert completion.course_version.course.slug == "cites-basics" and completion.score == 100
    assert completion.person is learner and completion.party_id == learner.party_id and completion.agency == learner.agency
    assert completion.completed_at == NOW and completion.credential.code
    assert count(session, Completion) == 1 and count(session, Credential) == 1
    assert count(session, AuditEntry, AuditEntry.action == "completion.recorded") == 1
    # nothing more can be recorded on a completed enrolment
    with pytest.raises(Conflict):
        mark_read(session, enrolment, "authorities", actor=learner_actor(learner), now=NOW)
    with pytest.raises(Conflict):
        submit_quiz(session, enrolment, "appendices", RIGHT, language="en", actor=learner_actor(learner), now=NOW)
    assert count(session, Completion) == 1


def test_signal_receivers_write_in_the_same_transaction(session, courses, learner):
    """A receiver that fails rolls the completion back with it: one transaction."""

    def failing(sender, **payload):
        raise RuntimeError("receiver failed")

    events.completion_recorded.connect(failing)
    try:
        enrolment = enrol(session, learner, courses["cites-basics"])
        session.commit()
        actor = learner_actor(learner)
        submit_quiz(session, enrolment, "appendices", RIGHT, language="en", actor=actor, now=NOW)
        with pytest.raises(RuntimeError):
            mark_read(session, enrolment, "authorities", actor=actor, now=NOW)
        session.rollback()
    finally:
        events.completion_recorded.disconnect(failing)
    assert count(session, Completion) == 0 and count(session, QuizAttempt) == 0


def test_completion_is_immutable(session, courses, learner):
    completion = finish_basics(session, learner, courses["cites-basics"]).completion
    completion.score = 10
    with pytest.raises(ImmutableCompletion):
        session.flush()
    session.rollback()
    session.delete(session.get(Completion, completion.id))
    with pytest.raises(ImmutableCompletion):
        session.flush()


def test_min_score_is_the_mean_of_best_scores_compared_exactly(session, courses, learner, make_person):
    # cites-basics: one quiz, pass mark 70, min score 70 -> 50% passes neither
    enrolment = enrol(session, learner, courses["cites-basics"])
    actor = learner_actor(learner)
    mark_read(session, enrolment, "authorities", actor=actor, now=NOW)
    submit_quiz(session, enrolment, "appendices", HALF, language="en", actor=actor, now=NOW)
    state = course_state(enrolment)
    assert not state.module("appendices").passed and state.score == 50 and not state.holds
    assert state.progress_percent == 50


def test_waived_module_is_done_and_left_out_of_the_score(session, courses, learner, trainer):
    enrolment = enrol(session, learner, courses["cites-basics"])
    actor = learner_actor(learner)
    for _ in range(3):
        submit_quiz(session, enrolment, "appendices", WRONG, language="en", actor=actor, now=NOW)
    mark_read(session, enrolment, "authorities", actor=actor, now=NOW)
    assert enrolment.completion is None
    with pytest.raises(Forbidden):
        waive_module(session, enrolment, "appendices", reason="Attended the workshop", actor=actor, now=NOW)
    with pytest.raises(InvalidInput):
        waive_module(session, enrolment, "appendices", reason="", actor=trainer, now=NOW)
    outcome = waive_module(session, enrolment, "appendices", reason="Attended the 2025 workshop", actor=trainer, now=NOW)
    completion = outcome.completion
    assert completion is not None and completion.score == 100  # no quiz left to score: 100
    assert completion.waived_modules == ["appendices"] and not completion.waived
    audit = session.query(AuditEntry).filter_by(action="enrolment.module_waived").one()
    assert audit.reason == "Attended the 2025 workshop" and audit.actor_id == trainer.person_id
    with pytest.raises(Conflict):
        waive_module(session, enrolment, "authorities", reason="again", actor=trainer, now=NOW)


def test_whole_course_waiver_completes_without_a_score(session, courses, learner, trainer):
    enrolment = enrol(session, learner, courses["customs-checks"])
    with pytest.raises(PrerequisitesMissing):
        open_module(session, enrolment, "reading-a-permit", actor=learner_actor(learner), now=NOW)
    with caught(events.completion_recorded) as completions:
        outcome = waive_course(session, enrolment, reason="Senior customs trainer", actor=trainer, now=NOW)
    completion = outcome.completion
    assert completion.waived and completion.score is None and completions[0]["completion"] is completion
    assert enrolment.status == EnrolmentStatus.COMPLETED


def test_prerequisites_are_enforced_with_a_clear_message(session, courses, learner):
    enrolment = enrol(session, learner, courses["customs-checks"])
    actor = learner_actor(learner)
    with pytest.raises(PrerequisitesMissing) as error:
        mark_read(session, enrolment, "inspecting-a-shipment", actor=actor, now=NOW)
    assert error.value.errors == {"prerequisites": ["cites-basics"]}
    assert "cites-basics" in error.value.detail
    finish_basics(session, learner, courses["cites-basics"])
    mark_read(session, enrolment, "inspecting-a-shipment", actor=actor, now=NOW)


def test_revoked_credential_no_longer_meets_a_prerequisite(session, courses, learner):
    from vcollege.core.permissions import Actor
    from vcollege.learning.service import missing_prerequisites, revoke_credential

    basics = finish_basics(session, learner, courses["cites-basics"])
    enrolment = enrol(session, learner, courses["customs-checks"])
    assert missing_prerequisites(session, enrolment) == []
    revoke_credential(session, basics.completion.credential, reason="Obtained by fraud",
                      actor=Actor.operator("tests"), now=NOW)
    assert missing_prerequisites(session, enrolment) == ["cites-basics"]


def test_in_person_course_needs_attendance_from_the_cohorts_area(session, courses, learner, trainer):
    finish_basics(session, learner, courses["cites-basics"])
    enrolment = enrol(session, learner, courses["ndf-workshop"])
    actor = learner_actor(learner)
    mark_read(session, enrolment, "the-ndf-guidance", actor=actor, now=NOW)
    mark_read(session, enrolment, "case-studies", actor=actor, now=NOW)
    state = course_state(enrolment)
    assert state.modules_done and state.score == 100 and not state.attendance_met and enrolment.completion is None
    record_attendance_rate(session, enrolment, 75, actor=trainer, now=NOW)
    assert enrolment.completion is None
    with pytest.raises(InvalidInput):
        record_attendance_rate(session, enrolment, 120, actor=trainer, now=NOW)
    outcome = record_attendance_rate(session, enrolment, 80, actor=trainer, now=NOW + dt.timedelta(days=1))
    assert outcome.completion is not None and outcome.completion.completed_at == NOW + dt.timedelta(days=1)


def test_only_the_learner_records_their_progress(session, courses, learner, trainer, make_person):
    enrolment = enrol(session, learner, courses["cites-basics"])
    other = make_person("Someone else")
    with pytest.raises(Forbidden):
        mark_read(session, enrolment, "authorities", actor=learner_actor(other), now=NOW)
    with pytest.raises(Forbidden):
        submit_quiz(session, enrolment, "appendices", RIGHT, language="en", actor=trainer, now=NOW)
    with pytest.raises(NotFound):
        mark_read(session, enrolment, "no-such-module", actor=learner_actor(learner), now=NOW)
    assert count(session, QuizAttempt) == 0


def test_open_module_remembers_where_the_learner_left_off(session, courses, learner):
    enrolment = enrol(session, learner, courses["cites-basics"])
    open_module(session, enrolment, "authorities", actor=learner_actor(learner), now=NOW)
    assert enrolment.last_module_key == "authorities" and enrolment.last_activity_at == NOW
    assert not course_state(enrolment).module("authorities").read


def test_nobody_waives_for_themselves(session, courses, make_staff):
    from vcollege.core.models import Role
    from vcollege.core.permissions import Actor
    from vcollege.learning.models import Waiver

    person = make_staff(Role.TRAINER, name="Self Waiver")
    trainer = Actor.for_person(person)
    enrolment = enrol(session, person, courses["cites-basics"])
    session.commit()
    for waive in (lambda: waive_module(session, enrolment, "appendices", reason="I know this", actor=trainer, now=NOW),
                  lambda: waive_course(session, enrolment, reason="I know this", actor=trainer, now=NOW)):
        with pytest.raises(Forbidden):
            waive()
    assert count(session, Waiver) == 0 and count(session, Completion) == 0
    assert count(session, AuditEntry, AuditEntry.action.like("enrolment.%waived")) == 0
    assert enrolment.status == EnrolmentStatus.ACTIVE


def test_nobody_waives_for_their_lms_identity_either(session, courses, make_staff, make_person):
    """A staff trainer who also launches from an LMS is a second person with the same e-mail:
    still themselves."""
    from vcollege.core.models import Role
    from vcollege.core.permissions import Actor
    from vcollege.learning.models import Waiver

    staff = make_staff(Role.TRAINER, name="Carlos Mendoza", email="carlos@cites.example")
    lms_self = make_person("Carlos Mendoza", email="Carlos@CITES.example", party=None)
    enrolment = enrol(session, lms_self, courses["cites-basics"])
    session.commit()
    with pytest.raises(Forbidden):
        waive_course(session, enrolment, reason="I know this", actor=Actor.for_person(staff), now=NOW)
    assert count(session, Waiver) == 0 and count(session, Completion) == 0


def test_an_lms_session_cannot_waive(session, courses, learner, make_staff):
    """Instructors in an LMS are instructors there: waivers need a staff sign-in (or a token)."""
    from vcollege.core.models import Role
    from vcollege.core.permissions import Actor
    from vcollege.learning.models import Waiver

    lms_trainer = Actor.for_lti(make_staff(Role.TRAINER), "https://lms.example.org")
    enrolment = enrol(session, learner, courses["cites-basics"])
    with pytest.raises(Forbidden):
        waive_module(session, enrolment, "appendices", reason="Passed elsewhere", actor=lms_trainer, now=NOW)
    with pytest.raises(Forbidden):
        waive_course(session, enrolment, reason="Passed elsewhere", actor=lms_trainer, now=NOW)
    assert count(session, Waiver) == 0 and count(session, Completion) == 0
