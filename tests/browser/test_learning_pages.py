"""The learning pages in Chromium: the whole player inside an LMS iframe on another site,
on a phone, the learner's home, the public verification page, the trainers' pages and the
Secretariat's revocation page.

Learners have no password: until the LTI launch signs them in, the tests put a learner's
session into the browser as the live app's own signed session cookie.
"""

from __future__ import annotations

import itertools
import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import frame_tool
from tests.browser.test_core_pages import make_staff, sign_in
from tests.conftest import NOW

_numbers = itertools.count(1)


def _learner_and_enrolment(live_server, *, name: str, language: str | None = "en", courses=("cites-basics",)):
    from tests.catalogue.fixtures import sync_fixture_courses
    from vcollege.catalogue.service import get_version
    from vcollege.core.models import Agency
    from vcollege.core.people import create_person
    from vcollege.core.permissions import Actor
    from vcollege.learning.service import enrol_learner

    operator = Actor.operator("tests")
    with live_server.session() as session:
        sync_fixture_courses(session)
        person = create_person(session, name=name, email=f"learner{next(_numbers)}-{id(live_server)}@example.org",
                               party="KE", agency=Agency.MANAGEMENT_AUTHORITY, preferred_language=language,
                               actor=operator, now=NOW)
        for slug in courses:
            enrol_learner(session, person, get_version(session, slug), source="trainer", actor=operator, now=NOW)
        return person.id, person.email


def _add_learner_session(context, live_server, person_id: int, *, top_site: str | None = None) -> None:
    """The learner's session cookie; framed by `top_site`, a partitioned SameSite=None one (CHIPS)."""
    app = live_server.app
    value = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": str(person_id), "_fresh": True, "vcollege_via": "lti:https://lms.example.org"}
    )
    cookie = {"name": app.config["SESSION_COOKIE_NAME"], "value": value, "httpOnly": True}
    if top_site:
        cookie.update({"domain": "localhost", "path": "/", "secure": True, "sameSite": "None", "partitionKey": top_site})
    else:
        cookie["url"] = live_server.url
    context.add_cookies([cookie])


@contextmanager
def cross_site_cookies(live_server):
    """The live app sends SameSite=None; Secure; Partitioned cookies, as with VCOLLEGE_COOKIE_SECURE
    (Chromium treats http://localhost as secure)."""
    config = live_server.app.config
    keys = ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_SAMESITE", "SESSION_COOKIE_PARTITIONED")
    saved = {k: config.get(k) for k in keys}
    config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_PARTITIONED=True)
    try:
        yield
    finally:
        config.update(saved)


def test_whole_player_inside_a_cross_site_lms_frame(page, live_server, fake_lms):
    person_id, _email = _learner_and_enrolment(live_server, name="Framed Learner")
    with cross_site_cookies(live_server):
        _add_learner_session(page.context, live_server, person_id, top_site=fake_lms.origin.rsplit(":", 1)[0])
        frame_tool(page, live_server, fake_lms, "/learn/cites-basics")
        frame = page.frame_locator("#tool")
        expect(frame.get_by_role("heading", level=1)).to_have_text("CITES basics")
        expect(frame.get_by_role("progressbar", name="Progress")).to_have_attribute("aria-valuenow", "0")
        frame.get_by_role("link", name="Start the course").click()

        # Module 1: the text, then a quiz whose answers are not in the page.
        expect(frame.get_by_role("heading", level=1)).to_have_text("The three Appendices")
        tool = next(f for f in page.frames if f.url.startswith(live_server.url))
        html = tool.content()
        assert "correct" not in html.lower().replace("tick every correct answer", "")
        frame.get_by_role("button", name="Submit my answers").click()  # nothing ticked
        expect(frame.locator("#q1-error")).to_have_text("Answer this question.")
        expect(frame.locator("fieldset#q1")).to_have_attribute("aria-invalid", "true")
        # A failed attempt says which answers were wrong, never which were right.
        frame.get_by_label("Appendix II", exact=True).first.check()
        question2 = frame.get_by_role("group", name=re.compile("export permit"))
        question2.get_by_label("Neither", exact=True).check()
        frame.get_by_role("button", name="Submit my answers").click()
        expect(frame.get_by_role("heading", level=1)).to_have_text("Quiz result: attempt 1")
        expect(frame.get_by_role("status")).to_contain_text("Not passed")
        expect(frame.get_by_role("note")).to_contain_text("shown once you have completed the course")
        expect(frame.locator(".choice-correct")).to_have_count(0)
        expect(frame.get_by_text("Appendix I: Article II, paragraph 1.")).to_have_count(0)
        frame.get_by_role("link", name="Try again").click()

        frame.get_by_label("Appendix I", exact=True).first.check()
        question2 = frame.get_by_role("group", name=re.compile("export permit"))
        question2.get_by_label("Appendix I", exact=True).check()
        question2.get_by_label("Appendix II", exact=True).check()
        frame.get_by_role("button", name="Submit my answers").click()
        expect(frame.get_by_role("heading", level=1)).to_have_text("Quiz result: attempt 2")
        expect(frame.get_by_role("status")).to_contain_text("Passed with 100")
        # passed with an attempt left: still no answers (a retake would be free marks)
        expect(frame.get_by_text("Appendix I: Article II, paragraph 1.")).to_have_count(0)
        expect(frame.locator(".choice-correct")).to_have_count(0)

        # Module 2, read, and the course completes.
        frame.get_by_role("link", name="Next module").click()
        expect(frame.get_by_role("heading", level=1)).to_have_text("Management and Scientific Authorities")
        frame.get_by_role("button", name=re.compile("I have read this module")).click()
        expect(frame.locator(".flash")).to_contain_text("you have completed the course")
        expect(frame.get_by_role("heading", name="Course completed")).to_be_visible()
        expect(frame.get_by_role("progressbar", name="Progress")).to_have_attribute("aria-valuenow", "100")
        certificate = frame.get_by_role("link", name="Download the certificate (PDF)")
        expect(certificate).to_be_visible()
        with page.expect_download() as download:
            certificate.click()
        assert download.value.suggested_filename.startswith("certificate-")

        # The learner's home, still in the frame.
        frame.get_by_role("link", name="My learning").first.click()
        expect(frame.get_by_role("heading", name="Completions, certificates and badges")).to_be_visible()
        expect(frame.get_by_role("link", name="Open Badge")).to_be_visible()


def test_language_notice_and_switcher(page, live_server):
    person_id, _email = _learner_and_enrolment(live_server, name="Russian Reader", language="ru")
    _add_learner_session(page.context, live_server, person_id)
    page.goto(f"{live_server.url}/learn/cites-basics/modules/appendices")
    expect(page.get_by_role("note").first).to_contain_text("not available in Russian")
    switcher = page.get_by_role("navigation", name="Course language")
    switcher.get_by_role("link", name="Français").click()
    expect(page.locator("article.lesson")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("note")).to_have_count(0)


def test_player_fits_a_phone(phone, live_server):
    person_id, _email = _learner_and_enrolment(live_server, name="Phone Learner")
    _add_learner_session(phone.context, live_server, person_id)
    for path in ("/learn", "/learn/cites-basics", "/learn/cites-basics/modules/appendices"):
        phone.goto(live_server.url + path)
        expect(phone.get_by_role("heading", level=1)).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path}: horizontal scroll, {width}px"
    phone.get_by_label("Appendix I", exact=True).first.check()
    expect(phone.get_by_role("button", name="Submit my answers")).to_be_visible()


def test_prerequisites_are_explained(page, live_server):
    person_id, _email = _learner_and_enrolment(live_server, name="Eager Learner", courses=("customs-checks",))
    _add_learner_session(page.context, live_server, person_id)
    page.goto(f"{live_server.url}/learn/customs-checks")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("prerequisites you have not completed")
    expect(alert).to_contain_text("CITES basics")
    page.get_by_role("link", name=re.compile("1. Reading")).click()
    expect(page.locator(".flash.error")).to_contain_text("Complete the prerequisite courses")


def _completed_code(live_server, name: str) -> str:
    from vcollege.core.models import Person
    from vcollege.core.permissions import Actor
    from vcollege.learning.service import find_enrolment, waive_course

    person_id, _email = _learner_and_enrolment(live_server, name=name)
    with live_server.session() as session:
        person = session.get(Person, person_id)
        enrolment = find_enrolment(session, person, "cites-basics")
        outcome = waive_course(session, enrolment, reason="Equivalent training", actor=Actor.operator("tests"), now=NOW)
        return outcome.completion.credential.code


def test_public_verification_page(page, live_server):
    code = _completed_code(live_server, "Verified Learner")
    page.goto(f"{live_server.url}/verify")
    page.get_by_label("Verification code").fill("not a code")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#code-error")).to_be_visible()
    page.get_by_label("Verification code").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status")).to_contain_text("Valid")
    expect(page.locator("dl.facts")).to_contain_text("Verified Learner")
    expect(page.locator("dl.facts")).to_contain_text("Completed by waiver of the whole course")


def test_trainer_enrols_loads_a_roster_and_waives(page, live_server):
    from vcollege.core.models import Role

    make_staff(live_server, Role.TRAINER, "teacher@example.org")
    _person_id, email = _learner_and_enrolment(live_server, name="Roster Learner", courses=())
    sign_in(page, live_server, "teacher@example.org")
    page.get_by_role("link", name="Teaching").click()
    page.get_by_role("link", name="CITES basics").click()
    page.get_by_label("Learner's e-mail").fill("nobody@example.org")
    page.get_by_role("button", name="Enrol", exact=True).click()
    expect(page.locator("#email-error")).to_have_text("Nobody is known with this e-mail.")
    expect(page.get_by_label("Learner's e-mail")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("CSV file").set_input_files(files=[{
        "name": "roster.csv", "mimeType": "text/csv", "buffer": f"email\n{email}\nnobody@example.org\n".encode()}])
    page.get_by_role("button", name="Load the roster").click()
    expect(page.locator("#roster-error")).to_contain_text("Line 3: nobody is known")
    page.get_by_label("Learner's e-mail").fill(email)
    page.get_by_role("button", name="Enrol", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("Roster Learner is enrolled")
    page.get_by_role("link", name="Roster Learner").click()
    page.get_by_label("What to waive").select_option("appendices")
    page.get_by_role("button", name="Waive").click()
    expect(page.locator("#reason-error")).to_be_visible()
    page.get_by_label("Reason", exact=True).fill("Passed the regional exam")
    page.get_by_role("button", name="Waive").click()
    expect(page.locator(".flash")).to_contain_text("The waiver is recorded")
    expect(page.get_by_role("table")).to_contain_text("Waived")


def test_secretariat_revokes_a_credential(page, live_server):
    from vcollege.core.models import Role

    code = _completed_code(live_server, "Revoked Learner")
    make_staff(live_server, Role.SECRETARIAT, "registrar@example.org")
    sign_in(page, live_server, "registrar@example.org")
    page.get_by_role("link", name="Credentials").click()
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Find").click()
    expect(page.locator("dl.facts")).to_contain_text("Revoked Learner")
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("#reason-error")).to_be_visible()
    page.get_by_label("Reason").fill("Identity fraud")
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator(".flash")).to_contain_text(f"The credential {code} is revoked")
    page.goto(f"{live_server.url}/verify/{code}")
    expect(page.get_by_role("status")).to_contain_text("Revoked on")


@pytest.mark.parametrize("path", ["/credentials/issuer", "/credentials/jwks.json", "/credentials/status/revocations"])
def test_issuer_documents_are_public(page, live_server, path):
    response = page.request.get(live_server.url + path)
    assert response.ok and response.headers["access-control-allow-origin"] == "*"
