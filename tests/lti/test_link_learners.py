"""An LMS instructor opening a course link sees the learners of THAT link, and nothing more."""

from __future__ import annotations

import re

import pytest

from tests.conftest import NOW
from tests.lti.conftest import opened
from tests.lti.platform import INSTRUCTOR, LEARNER


@pytest.fixture
def classroom(session, registered, platform, driver, app):
    """Two learners launch link-1, a third launches link-2 only; the instructor launches link-1."""
    platform.add_user("Learner-2", "Sita Gurung", roles=[LEARNER])
    platform.add_user("Learner-3", "Ana Souza", roles=[LEARNER])
    platform.resource_link_message("link-2", link_id="Link-2", custom={"course": "cites-basics"})
    for user, hint in (("Learner-1", "link-1"), ("Learner-2", "link-1"), ("Learner-3", "link-2")):
        browser = app.test_client()
        from tests.lti.conftest import Driver

        response, _ = Driver(browser, platform).launch(user, hint)
        assert response.status_code == 302
    platform.users["Teacher-1"].locale = "en-GB"
    response, _ = driver.launch("Teacher-1", "link-1")
    return opened(driver.client, response)


def _person(session, subject):
    from vcollege.lti.models import LtiIdentity

    return session.query(LtiIdentity).filter_by(subject=subject).one().person


def test_the_instructor_sees_the_learners_of_the_link_with_their_progress(session, classroom, driver):
    from vcollege.core.permissions import Actor
    from vcollege.learning.enrolments import find_enrolment
    from vcollege.learning.progress import mark_read
    from vcollege.learning.rules import course_state
    from vcollege.lti.models import LtiResourceLink

    link = session.query(LtiResourceLink).filter_by(resource_link_id="Link-1").one()
    assert classroom == f"/lti/links/{link.id}/learners"
    wanjiru = _person(session, "Learner-1")
    enrolment = find_enrolment(session, wanjiru, "cites-basics")
    mark_read(session, enrolment, next(m for m in enrolment.version.modules if not m.quiz).key, actor=Actor.for_person(wanjiru), now=NOW)
    session.commit()
    page = driver.client.get(classroom)
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    table = re.search(r"<tbody>.*?</tbody>", text, re.S).group(0)
    assert "Wanjiru Kamau" in table and "Sita Gurung" in table
    assert "Ana Souza" not in table  # launched another link
    assert "Carlos Mendoza" not in table  # the instructor is not a learner
    assert "2 learners" in text and table.count("In progress") == 2
    done = course_state(enrolment).progress_percent
    assert 0 < done < 100 and f"{done} %" in table and "0 %" in table


def test_the_service_lists_enrolment_and_state(session, classroom):
    from vcollege.core.permissions import Actor
    from vcollege.learning.models import EnrolmentStatus
    from vcollege.lti.links import link_learners
    from vcollege.lti.models import LtiResourceLink

    link = session.query(LtiResourceLink).filter_by(resource_link_id="Link-1").one()
    teacher = _person(session, "Teacher-1")
    rows = link_learners(session, link, actor=Actor.for_lti(teacher, "iss"))
    assert [r.person.name for r in rows] == ["Sita Gurung", "Wanjiru Kamau"]
    assert all(r.enrolment.status == EnrolmentStatus.ACTIVE and r.state.progress_percent == 0 for r in rows)


def test_a_learner_of_the_link_may_not_see_its_learners(session, classroom, app, platform):
    from tests.lti.conftest import Driver
    from vcollege.lti.models import LtiResourceLink

    link = session.query(LtiResourceLink).filter_by(resource_link_id="Link-1").one()
    browser = app.test_client()
    response, _ = Driver(browser, platform).launch("Learner-1", "link-1")
    assert opened(browser, response) == "/learn/cites-basics"
    assert browser.get(f"/lti/links/{link.id}/learners").status_code == 403


def test_an_instructor_of_another_link_may_not_see_these_learners(session, classroom, app, platform):
    from tests.lti.conftest import Driver
    from vcollege.lti.models import LtiResourceLink

    platform.add_user("Teacher-2", "Jean Dupont", roles=[INSTRUCTOR])
    browser = app.test_client()
    response, _ = Driver(browser, platform).launch("Teacher-2", "link-2")
    other = session.query(LtiResourceLink).filter_by(resource_link_id="Link-2").one()
    assert opened(browser, response) == f"/lti/links/{other.id}/learners"
    link = session.query(LtiResourceLink).filter_by(resource_link_id="Link-1").one()
    assert browser.get(f"/lti/links/{link.id}/learners").status_code == 403
    assert "Ana Souza" in browser.get(f"/lti/links/{other.id}/learners").get_data(as_text=True)


def test_an_instructor_who_became_a_learner_of_the_link_loses_the_page(session, classroom, driver, platform):
    from vcollege.lti.models import LtiResourceLink

    link = session.query(LtiResourceLink).filter_by(resource_link_id="Link-1").one()
    platform.users["Teacher-1"].roles = [LEARNER]
    response, _ = driver.launch("Teacher-1", "link-1")
    assert opened(driver.client, response) == "/learn/cites-basics"
    assert driver.client.get(f"/lti/links/{link.id}/learners").status_code == 403


def test_a_staff_trainer_is_not_an_instructor_of_the_link(session, classroom, client, make_staff, sign_in):
    from vcollege.core.models import Role
    from vcollege.lti.models import LtiResourceLink

    link = session.query(LtiResourceLink).filter_by(resource_link_id="Link-1").one()
    fresh = client.application.test_client()
    with fresh.session_transaction() as flask_session:
        flask_session.update({"_user_id": str(make_staff(Role.TRAINER).id), "_fresh": True, "vcollege_via": "password"})
    assert fresh.get(f"/lti/links/{link.id}/learners").status_code == 403
    anonymous = client.application.test_client()
    assert anonymous.get(f"/lti/links/{link.id}/learners").status_code == 302  # sign in first
    assert fresh.get("/lti/links/999999/learners").status_code == 404
