"""The `vcollege learning` commands, the expiry job and the demo step."""

import datetime as dt

from sqlalchemy import select

from tests.catalogue.fixtures import FIXTURE_COURSES
from tests.conftest import NOW, count
from tests.learning.conftest import enrol
from vcollege.learning.models import Completion, Enrolment, EnrolmentStatus, Waiver


def test_enrol_and_enrol_csv(runner, session, courses, learner, make_person, tmp_path):
    result = runner.invoke(args=["learning", "enrol", learner.email, "cites-basics"])
    assert result.exit_code == 0, result.output
    assert "enrolled in cites-basics (version 1" in result.output
    again = runner.invoke(args=["learning", "enrol", learner.email, "cites-basics"])
    assert "already enrolled" in again.output and count(session, Enrolment) == 1
    unknown = runner.invoke(args=["learning", "enrol", "nobody@example.org", "cites-basics"])
    assert unknown.exit_code == 1 and "email" in unknown.output

    other = make_person("Paul Mbarga", party="CM")
    roster = tmp_path / "roster.csv"
    roster.write_text(f"email,course\n{other.email},cites-basics\n{other.email},no-such-course\n")
    bad = runner.invoke(args=["learning", "enrol-csv", str(roster)])
    assert bad.exit_code == 1 and "Line 3" in bad.output
    assert count(session, Enrolment) == 1
    roster.write_text(f"email,course\n{other.email},cites-basics\n{learner.email},cites-basics\n")
    good = runner.invoke(args=["learning", "enrol-csv", str(roster)])
    assert good.exit_code == 0 and "1 enrolled, 1 already enrolled" in good.output


def test_waive_revoke_and_list_completions(runner, session, courses, learner):
    enrol(session, learner, courses["cites-basics"])
    session.commit()
    no_reason = runner.invoke(args=["learning", "waive", learner.email, "cites-basics", "--reason", " "])
    assert no_reason.exit_code == 1 and count(session, Waiver) == 0
    waived = runner.invoke(args=["learning", "waive", learner.email, "cites-basics", "--reason", "Equivalent degree"])
    assert waived.exit_code == 0 and "completed, code" in waived.output
    listing = runner.invoke(args=["learning", "completions", "--course", "cites-basics"])
    assert "waived" in listing.output and "Wanjiru Kamau" in listing.output
    code = session.scalars(select(Completion)).one().credential.code
    revoked = runner.invoke(args=["learning", "revoke", code, "--reason", "Issued in error"])
    assert revoked.exit_code == 0
    assert "REVOKED" in runner.invoke(args=["learning", "completions"]).output


def test_expiry_job(session, courses, learner, trainer):
    from vcollege.jobs import get_job
    from vcollege.learning.service import enrol_learner

    enrolment = enrol_learner(session, learner, courses["cites-basics"], source="trainer", actor=trainer, now=NOW,
                              expires_at=NOW + dt.timedelta(days=1))
    job = get_job("expire-enrolments")
    assert job.func(session, NOW + dt.timedelta(days=2), {}) == "1 expired"
    assert enrolment.status == EnrolmentStatus.EXPIRED


def test_demo_step_enrols_with_progress_and_a_completion(session):
    from vcollege.catalogue.demo import sync_courses
    from vcollege.demo import DEMO_ACTOR, DemoContext, demo_learners, ensure_people
    from vcollege.learning.demo import enrol_demo_learners

    messages = []
    ctx = DemoContext(session, NOW, DEMO_ACTOR, messages.append, {}, {"COURSES_DIR": str(FIXTURE_COURSES)})
    ensure_people(ctx)
    sync_courses(ctx)
    enrol_demo_learners(ctx)
    first = (count(session, Enrolment), count(session, Completion))
    enrol_demo_learners(ctx)  # idempotent
    assert first == (count(session, Enrolment), count(session, Completion))
    assert first[0] >= 8 and first[1] >= 1, messages
    ids = [p.id for p in demo_learners(session)]
    completions = session.scalars(select(Completion).where(Completion.person_id.in_(ids))).all()
    assert completions and all(c.credential for c in completions)
