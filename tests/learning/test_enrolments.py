"""Enrolments: by launch, trainer, roster, API; idempotent; withdrawn keep history; expiry;
a new course version never moves a learner silently."""

import datetime as dt
import shutil

import pytest

from tests.catalogue.fixtures import FIXTURE_COURSES, sync_fixture_courses
from tests.conftest import NOW, count
from tests.learning.conftest import HALF, enrol, learner_actor
from vcollege.core.models import AuditEntry
from vcollege.core.permissions import Actor
from vcollege.errors import Conflict, Forbidden, InvalidInput
from vcollege.learning.models import (
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    ModuleProgress,
    QuizAttempt,
)
from vcollege.learning.service import (
    course_state,
    enrol_learner,
    expire_enrolments,
    mark_read,
    move_to_version,
    submit_quiz,
    withdraw,
)


def test_enrolling_twice_returns_the_same_enrolment(session, courses, learner, trainer):
    first = enrol_learner(session, learner, courses["cites-basics"], source="trainer", actor=trainer, now=NOW)
    again = enrol_learner(session, learner, courses["cites-basics"], source="lti", actor=learner_actor(learner),
                          now=NOW + dt.timedelta(days=1))
    assert again.id == first.id
    assert again.source == EnrolmentSource.TRAINER and again.status == EnrolmentStatus.ACTIVE
    assert count(session, Enrolment) == 1
    assert count(session, AuditEntry, AuditEntry.action == "enrolment.created") == 1
    assert first.enrolled_by_id == trainer.person_id


def test_launch_enrols_without_a_permission_but_trainer_source_needs_one(session, courses, learner):
    actor = learner_actor(learner)
    enrolment = enrol_learner(session, learner, courses["cites-basics"], source="lti", actor=actor, now=NOW)
    assert enrolment.source == EnrolmentSource.LTI and enrolment.enrolled_by_id is None
    with pytest.raises(Forbidden):
        enrol_learner(session, learner, courses["customs-checks"], source="trainer", actor=actor, now=NOW)
    assert count(session, Enrolment) == 1


def test_restricted_course_refuses_a_launch_without_party_and_agency(session, courses, make_person, trainer):
    guest = make_person("Guest", party=None)
    with pytest.raises(Forbidden) as caught:
        enrol_learner(session, guest, courses["customs-checks"], source="lti", actor=learner_actor(guest), now=NOW)
    assert "officials" in caught.value.detail
    assert count(session, Enrolment) == 0
    # a trainer vouches for the people they enrol
    assert enrol_learner(session, guest, courses["customs-checks"], source="trainer", actor=trainer, now=NOW)


def test_withdrawn_learner_keeps_history_and_can_come_back(session, courses, learner, trainer):
    enrolment = enrol(session, learner, courses["cites-basics"])
    submit_quiz(session, enrolment, "appendices", HALF, language="en", actor=learner_actor(learner), now=NOW)
    withdraw(session, enrolment, reason="Moved to another post", actor=trainer, now=NOW)
    assert enrolment.status == EnrolmentStatus.WITHDRAWN and enrolment.status_reason == "Moved to another post"
    with pytest.raises(Conflict):
        mark_read(session, enrolment, "authorities", actor=learner_actor(learner), now=NOW)
    assert count(session, QuizAttempt) == 1 and count(session, ModuleProgress) == 1
    back = enrol_learner(session, learner, courses["cites-basics"], source="trainer", actor=trainer, now=NOW)
    assert back.id == enrolment.id and back.status == EnrolmentStatus.ACTIVE
    assert course_state(back).module("appendices").attempts_used == 1
    assert count(session, AuditEntry, AuditEntry.action == "enrolment.reactivated") == 1


def test_a_launch_never_undoes_a_trainers_withdrawal(session, courses, learner, trainer):
    lms = Actor.for_lti(learner, "https://lms.example.org")
    enrolment = enrol(session, learner, courses["cites-basics"])
    withdraw(session, enrolment, reason="Left the Management Authority", actor=trainer, now=NOW)
    with pytest.raises(Conflict) as caught:
        enrol_learner(session, learner, courses["cites-basics"], source="lti", actor=lms, now=NOW)
    assert "ask your trainer" in caught.value.detail
    assert enrolment.status == EnrolmentStatus.WITHDRAWN
    assert count(session, AuditEntry, AuditEntry.action == "enrolment.reactivated") == 0


def test_a_learner_who_withdrew_themselves_comes_back_by_launching(session, courses, learner):
    lms = Actor.for_lti(learner, "https://lms.example.org")
    enrolment = enrol(session, learner, courses["cites-basics"])
    withdraw(session, enrolment, reason="No time this month", actor=learner_actor(learner), now=NOW)
    back = enrol_learner(session, learner, courses["cites-basics"], source="lti", actor=lms, now=NOW)
    assert back.id == enrolment.id and back.status == EnrolmentStatus.ACTIVE


def test_withdrawal_needs_a_reason_and_an_active_enrolment(session, courses, learner, trainer):
    enrolment = enrol(session, learner, courses["cites-basics"])
    with pytest.raises(InvalidInput) as caught:
        withdraw(session, enrolment, reason=" ", actor=trainer, now=NOW)
    assert "reason" in caught.value.errors
    assert enrolment.status == EnrolmentStatus.ACTIVE
    with pytest.raises(Forbidden):
        withdraw(session, enrolment, reason="not mine", actor=Actor.anonymous(), now=NOW)


def test_enrolments_expire(session, courses, learner, trainer):
    enrolment = enrol_learner(session, learner, courses["cites-basics"], source="trainer", actor=trainer, now=NOW,
                              expires_at=NOW + dt.timedelta(days=30))
    assert expire_enrolments(session, now=NOW + dt.timedelta(days=29), actor=Actor.system("tests")) == 0
    assert expire_enrolments(session, now=NOW + dt.timedelta(days=30), actor=Actor.system("tests")) == 1
    assert enrolment.status == EnrolmentStatus.EXPIRED


def test_retired_course_takes_no_new_learners(session, courses, learner, trainer, tmp_path):
    folder = tmp_path / "courses"
    shutil.copytree(FIXTURE_COURSES, folder)
    shutil.rmtree(folder / "ndf-workshop")
    sync_fixture_courses(session, path=folder)
    with pytest.raises(Conflict):
        enrol_learner(session, learner, courses["ndf-workshop"], source="trainer", actor=trainer, now=NOW)
    assert count(session, Enrolment) == 0


def _new_version(session, tmp_path, change_appendices: bool):
    folder = tmp_path / "courses"
    shutil.copytree(FIXTURE_COURSES, folder)
    target = "appendices" if change_appendices else "authorities"
    path = folder / "cites-basics" / "en" / f"{target}.md"
    path.write_text(path.read_text() + "\nA paragraph added in the new version.\n")
    sync_fixture_courses(session, path=folder, now=NOW + dt.timedelta(days=10))
    from vcollege.catalogue.service import get_version

    return get_version(session, "cites-basics")


def test_new_version_mid_way_keeps_the_learner_on_theirs(session, courses, learner, trainer, tmp_path):
    v1 = courses["cites-basics"]
    enrolment = enrol(session, learner, v1)
    submit_quiz(session, enrolment, "appendices", HALF, language="en", actor=learner_actor(learner), now=NOW)
    v2 = _new_version(session, tmp_path, change_appendices=False)
    assert v2.number == 2
    again = enrol_learner(session, learner, v2, source="lti", actor=learner_actor(learner), now=NOW)
    assert again.version_id == v1.id  # no silent switch
    mark_read(session, enrolment, "authorities", actor=learner_actor(learner), now=NOW)
    assert course_state(enrolment).version.id == v1.id


def test_moving_to_a_new_version_on_request_carries_unchanged_modules(session, courses, learner, tmp_path):
    v1 = courses["cites-basics"]
    enrolment = enrol(session, learner, v1)
    actor = learner_actor(learner)
    submit_quiz(session, enrolment, "appendices", HALF, language="en", actor=actor, now=NOW)
    mark_read(session, enrolment, "authorities", actor=actor, now=NOW)
    v2 = _new_version(session, tmp_path, change_appendices=False)
    move_to_version(session, enrolment, v2, actor=actor, now=NOW)
    state = course_state(enrolment)
    assert state.version.id == v2.id
    assert state.module("appendices").attempts_used == 1  # same module: carried over
    assert not state.module("authorities").read  # changed module: to read again
    assert count(session, AuditEntry, AuditEntry.action == "enrolment.moved") == 1


def test_every_reason_is_checked_by_one_rule(session, courses, learner, trainer):
    """Withdrawals, waivers and revocations share one reason rule (`reasons.require_reason`)."""
    from tests.learning.conftest import finish_basics
    from vcollege.learning.models import Credential, Waiver
    from vcollege.learning.reasons import REASON_MAX
    from vcollege.learning.service import revoke_credential, waive_course, waive_module

    enrolment = enrol(session, learner, courses["customs-checks"])
    credential = finish_basics(session, learner, courses["cites-basics"]).completion.credential
    operator = Actor.operator("tests")
    for bad in ("  ", "x" * (REASON_MAX + 1)):
        for attempt in (
            lambda bad=bad: withdraw(session, enrolment, reason=bad, actor=trainer, now=NOW),
            lambda bad=bad: waive_module(session, enrolment, "reading-a-permit", reason=bad, actor=trainer, now=NOW),
            lambda bad=bad: waive_course(session, enrolment, reason=bad, actor=trainer, now=NOW),
            lambda bad=bad: revoke_credential(session, credential, reason=bad, actor=operator, now=NOW),
        ):
            with pytest.raises(InvalidInput) as caught:
                attempt()
            assert list(caught.value.errors) == ["reason"]
    assert enrolment.status == EnrolmentStatus.ACTIVE and count(session, Waiver) == 0
    assert count(session, Credential, Credential.revoked_at.is_not(None)) == 0
    # the schemas hold the same bounds
    from vcollege.learning.schemas import WaiverBodySchema

    assert "reason" in WaiverBodySchema().validate({"reason": "x" * (REASON_MAX + 1)})
