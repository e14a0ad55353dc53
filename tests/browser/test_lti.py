"""LTI in Chromium: launches inside a cross-site iframe (LMS page on 127.0.0.1, tool on
localhost), the development LMS end to end, and the Secretariat's LTI pages."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from tests.catalogue.fixtures import sync_fixture_courses
from tests.conftest import NOW, PASSWORD
from tests.lti.platform import LEARNER, TestPlatform


@pytest.fixture
def lms(live_server):
    from vcollege.core.permissions import Actor
    from vcollege.lti.platforms import register_platform

    platform = TestPlatform()
    platform.tool_launch_url = live_server.url + "/lti/launch"
    platform.add_user("Learner-1", "Wanjiru Kamau", roles=[LEARNER], locale="en-GB")
    platform.resource_link_message("link-1", link_id="Link-1", custom={"course": "cites-basics"})
    with live_server.session() as session:
        sync_fixture_courses(session)  # cites-basics, the course the link points to
        register_platform(session, issuer=platform.issuer, client_id=platform.client_id,
                          deployment_ids=[platform.deployment_id], auth_login_url=platform.auth_url,
                          auth_token_url=platform.token_url, key_set_url=platform.jwks_url, name="Browser LMS",
                          actor=Actor.operator("tests"), now=NOW, active=True)
    yield platform
    platform.stop()


@contextmanager
def production_cookies(app):
    """SameSite=None; Secure; Partitioned, as production over HTTPS sends them (Chromium
    treats http://localhost as a secure origin)."""
    keys = ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_SAMESITE", "SESSION_COOKIE_PARTITIONED")
    saved = {k: app.config[k] for k in keys}
    app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_PARTITIONED=True)
    try:
        yield
    finally:
        app.config.update(saved)


def _launched(live_server, platform, subject="Learner-1"):
    from sqlalchemy import select

    from vcollege.lti.models import LtiIdentity

    with live_server.session() as session:
        identity = session.scalar(select(LtiIdentity).where(LtiIdentity.issuer == platform.issuer,
                                                            LtiIdentity.subject == subject))
        return identity.person.name if identity else None


def test_cross_site_iframe_launch_with_partitioned_cookies(page, live_server, lms):
    with production_cookies(live_server.app):
        page.goto(lms.course_page("course-cookies", live_server.url + "/lti/login", "Learner-1", "link-1", storage=False))
        # the launch opens the course player inside the frame, the learner signed in there:
        # the partitioned session cookie is sent
        page.frames[1].wait_for_url(re.compile(r".*/learn/cites-basics$"))
        frame = page.frame_locator("#tool")
        expect(frame.get_by_role("heading", level=1)).to_have_text("CITES basics")
        expect(frame.locator(".who")).to_have_text("Wanjiru Kamau")
    assert _launched(live_server, lms) == "Wanjiru Kamau"


def test_cross_site_iframe_launch_through_platform_storage(page, live_server, lms):
    # development cookies (no SameSite=None): the browser keeps no tool cookie in the frame,
    # so the tool checks the state through the platform's postMessage storage
    page.goto(lms.course_page("course-storage", live_server.url + "/lti/login", "Learner-1", "link-1", storage=True))
    # the launch is verified and applied; the course pages need a session cookie, which this
    # frame does not keep, so the learner is offered the course in a new window
    page.frames[1].wait_for_url(re.compile(r".*/lti/continue/.*"))
    expect(page.frame_locator("#tool").get_by_role("link", name="Open in a new window")).to_be_visible()
    assert _launched(live_server, lms) == "Wanjiru Kamau"


def test_cross_site_iframe_without_cookies_or_storage_offers_a_new_window(page, live_server, lms):
    page.goto(lms.course_page("course-blocked", live_server.url + "/lti/login", "Learner-1", "link-1", storage=False))
    frame = page.frame_locator("#tool")
    button = frame.get_by_role("link", name="Open in a new window")
    expect(button).to_be_visible()
    assert _launched(live_server, lms) is None  # the refused launch wrote nothing
    with page.context.expect_page() as popup_info:
        button.click()
    popup = popup_info.value
    popup.wait_for_url(re.compile(r".*/learn/cites-basics$"))  # a first-party window keeps the session
    expect(popup.get_by_role("heading", level=1)).to_have_text("CITES basics")
    expect(popup.locator(".who")).to_have_text("Wanjiru Kamau")
    assert _launched(live_server, lms) == "Wanjiru Kamau"


def _staff(live_server, role, email):
    from vcollege.core.accounts import create_staff_account, find_account
    from vcollege.core.permissions import Actor

    with live_server.session() as session:
        if find_account(session, email) is None:
            create_staff_account(session, email=email, password=PASSWORD, name=f"LTI {role.value}", roles=[role],
                                 actor=Actor.operator("tests"), now=NOW, party="CH")


def _sign_in(page, live_server, email):
    page.goto(f"{live_server.url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Signed in as")


def test_secretariat_registers_and_approves_a_platform(page, live_server):
    from vcollege.core.models import Role

    _staff(live_server, Role.SECRETARIAT, "lti-officer@example.org")
    _sign_in(page, live_server, "lti-officer@example.org")
    page.get_by_role("link", name="LMS platforms").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("LMS platforms")
    page.get_by_label("Issuer").fill("https://moodle.browser.example.org")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#client_id-error")).to_be_visible()
    expect(page.get_by_label("Client id")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Name").fill("Browser Moodle")
    page.get_by_label("Client id").fill("moodle-1")
    page.get_by_label("Deployment ids").fill("1")
    page.get_by_label("Authentication request URL").fill("https://moodle.browser.example.org/mod/lti/auth.php")
    page.get_by_label("Access token URL").fill("https://moodle.browser.example.org/mod/lti/token.php")
    page.get_by_label("Public keyset URL").fill("https://moodle.browser.example.org/mod/lti/certs.php")
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".flash")).to_contain_text("Browser Moodle registered")
    expect(page.locator(".badge")).to_have_text("Waiting for approval")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".badge")).to_have_text("Active")
    page.goto(live_server.url + "/lti/tool-configuration")
    expect(page.locator("#canvas-json")).to_contain_text('"oidc_initiation_url"')


def test_scores_page_for_trainers(page, live_server):
    from vcollege.core.models import Role

    _staff(live_server, Role.TRAINER, "lti-trainer@example.org")
    _sign_in(page, live_server, "lti-trainer@example.org")
    page.get_by_role("link", name="LMS scores").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Scores for the LMS")
    expect(page.locator("caption")).to_be_visible()
    expect(page.get_by_role("link", name="LMS platforms")).to_have_count(0)


def test_lti_pages_fit_a_phone(phone, live_server, lms):
    from vcollege.core.models import Role

    _staff(live_server, Role.SECRETARIAT, "lti-phone@example.org")
    _sign_in(phone, live_server, "lti-phone@example.org")
    for path in ("/lti/platforms", "/lti/tool-configuration", "/lti/scores"):
        phone.goto(live_server.url + path)
        expect(phone.get_by_role("heading", level=1)).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path}: horizontal scroll {width}px"


def test_development_lms_deep_links_launches_and_receives_scores(page, live_server):
    """The whole flow with the built-in LMS: deep linking, a launch into the player, the
    completion (through the learning services), the score posted back and shown by the LMS."""
    from sqlalchemy import select

    from vcollege.catalogue.service import get_course
    from vcollege.core.models import Person, Role
    from vcollege.core.people import create_person
    from vcollege.core.permissions import Actor
    from vcollege.demo import DEMO_ACTOR, DemoContext
    from vcollege.learning.enrolments import find_enrolment
    from vcollege.learning.models import EnrolmentStatus
    from vcollege.learning.progress import mark_read, submit_quiz
    from vcollege.lti.ags import drain_outbox
    from vcollege.lti.demo import ensure_dev_lms
    from vcollege.lti.models import LtiIdentity

    with live_server.session() as session:
        sync_fixture_courses(session)
        ensure_dev_lms(DemoContext(session, NOW, DEMO_ACTOR, lambda text: None, {}, live_server.app.config))
        for name, role in (("Dev Trainer", Role.TRAINER), ("Dev Learner", Role.LEARNER)):
            if session.scalar(select(Person).where(Person.name == name)) is None:
                create_person(session, name=name, email=f"{name.split()[1].lower()}@dev.example.org",
                              roles=(role,), actor=Actor.operator("tests"), now=NOW)

    page.goto(live_server.url + "/dev/lms")
    expect(page.get_by_role("heading", level=1)).to_have_text("Development LMS")
    page.get_by_label("Person").select_option(label="Dev Trainer")
    page.get_by_label("LMS role").select_option("Instructor")
    page.get_by_role("button", name="Launch").click()
    tool = page.frame_locator("iframe[name=tool-frame]")

    expect(tool.get_by_role("heading", level=1)).to_have_text("Choose courses for your learning platform")
    tool.get_by_label("CITES basics").check()
    tool.get_by_role("button", name="Add to my course").click()
    expect(tool.get_by_role("heading", level=1)).to_have_text("Content added")

    page.goto(live_server.url + "/dev/lms")
    page.get_by_label("Person").select_option(label="Dev Learner")
    page.get_by_label("Activity").select_option(label="CITES basics (cites-basics)")
    page.get_by_role("button", name="Launch").click()
    page.frames[1].wait_for_url(re.compile(r".*/learn/cites-basics$"))
    expect(tool.get_by_role("heading", level=1)).to_have_text("CITES basics")

    with live_server.session() as session:
        identity = session.scalar(select(LtiIdentity).where(LtiIdentity.subject.like("dev-%"))
                                  .join(LtiIdentity.person).where(Person.name == "Dev Learner"))
        learner = identity.person
        enrolment = find_enrolment(session, learner, get_course(session, "cites-basics"))
        actor = Actor.for_lti(learner, identity.issuer)
        for module in enrolment.version.modules:
            if module.quiz:
                answers = {q["id"]: [c["id"] for c in q["choices"] if c["correct"]] for q in module.quiz["en"]}
                submit_quiz(session, enrolment, module.key, answers, language="en", actor=actor, now=NOW)
            else:
                mark_read(session, enrolment, module.key, actor=actor, now=NOW)
        assert enrolment.status == EnrolmentStatus.COMPLETED
    with live_server.session() as session:
        assert drain_outbox(session, now=NOW)["sent"] >= 1
    page.goto(live_server.url + "/dev/lms")
    expect(page.locator("tbody")).to_contain_text("100.0 / 100")
    expect(page.locator("tbody")).to_contain_text("Completed · FullyGraded")


def test_dynamic_registration_page_tells_the_platform_to_close(page, live_server):
    platform = TestPlatform()
    try:
        opener = platform.origin + "/Opener"
        platform.pages["/Opener"] = (
            '<!doctype html><html lang="en"><title>LMS admin</title><h1>Register a tool</h1>'
            '<p id="closed">waiting</p><script>window.addEventListener("message", function (e) {'
            ' if (e.data && e.data.subject === "org.imsglobal.lti.close") {'
            ' document.getElementById("closed").textContent = "closed"; } });</script>'
            f'<iframe id="tool" title="tool" src="{live_server.url}/lti/register?openid_configuration='
            f'{platform.origin}/.well-known/openid-configuration&registration_token={platform.registration_token}"'
            ' width="800" height="500"></iframe></html>')
        page.goto(opener)
        expect(page.frame_locator("#tool").get_by_role("heading", level=1)).to_have_text("Registration received")
        expect(page.locator("#closed")).to_have_text("closed")
        assert platform.registrations[0]["initiate_login_uri"] == live_server.url + "/lti/login"
    finally:
        platform.stop()


def test_a_link_without_course_explains_itself_in_a_new_window_on_a_phone(phone, live_server, lms):
    from urllib.parse import urlencode

    lms.add_user("Teacher-9", "Claire Martin", roles=["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
                 locale="fr-FR")
    lms.resource_link_message("bare", link_id="Link-Bare", custom={})
    # the "open in a new window" path: a top-level launch, where the state cookie survives
    phone.goto(live_server.url + "/lti/login?" + urlencode(lms.login_params("Teacher-9", "bare")))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Aucun cours lié pour l'instant")
    assert phone.locator("html").get_attribute("lang") == "fr"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375


def test_a_platform_storage_without_the_value_confirms_nothing(page, live_server, lms):
    """The launch page reads the login's value back from the platform's storage; a storage
    that does not hold it (another browser, another frame) gets the new-window path only."""
    from urllib.parse import urlencode

    src = live_server.url + "/lti/login?" + urlencode(lms.login_params("Learner-1", "link-1", lti_storage_target="_parent"))
    lms.pages["/forgetful"] = (
        '<!doctype html><html lang="en"><title>LMS course</title><h1>LMS course page</h1><script>'
        'window.addEventListener("message", function (event) { var m = event.data || {};'
        ' if (m.subject === "lti.put_data" || m.subject === "lti.get_data") {'
        '  event.source.postMessage({subject: m.subject + ".response", message_id: m.message_id, key: m.key},'
        '   event.origin); } });</script>'
        f'<iframe id="tool" title="vcollege" src="{src}" width="1000" height="700"></iframe></html>')
    page.goto(lms.origin + "/forgetful")
    frame = page.frame_locator("#tool")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Opening the course")
    expect(frame.get_by_role("link", name="Open in a new window")).to_be_visible()
    assert _launched(live_server, lms) is None  # the verified launch was never applied


def test_an_instructor_sees_the_learners_of_the_link_on_a_phone(phone, live_server, lms):
    from urllib.parse import urlencode

    from tests.lti.platform import INSTRUCTOR

    lms.add_user("Teacher-7", "Carlos Mendoza", roles=[INSTRUCTOR], locale="en-GB")
    lms.add_user("Learner-7", "Sita Gurung", roles=[LEARNER], locale="en-GB")
    for user in ("Learner-7", "Teacher-7"):  # top-level launches: the "open in a new window" path
        phone.goto(live_server.url + "/lti/login?" + urlencode(lms.login_params(user, "link-1")))
    phone.wait_for_url(re.compile(r".*/lti/links/\d+/learners$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Activity Link-1")
    table = phone.get_by_role("table")
    expect(table.locator("caption")).to_contain_text("learner")
    expect(table.get_by_role("rowheader", name="Sita Gurung")).to_be_visible()
    expect(table).to_contain_text("In progress")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375


def test_secretariat_types_frame_origins_a_launch_origin_is_information_only(page, live_server, lms):
    from sqlalchemy import select

    from vcollege.core.models import Role
    from vcollege.lti.models import LtiPlatform

    with live_server.session() as session:
        found = session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == lms.issuer))
        found.auth_token_url = "https://browser.example.org/token"  # a registered host with a name
        found.last_unlisted_origin, found.last_unlisted_origin_at = "https://school.browser.example.org", NOW
        platform_id = found.id
    _staff(live_server, Role.SECRETARIAT, "lti-frames@example.org")
    _sign_in(page, live_server, "lti-frames@example.org")
    page.goto(f"{live_server.url}/lti/platforms/{platform_id}")
    expect(page.get_by_role("heading", name="Who may frame the tool")).to_be_visible()
    notice = page.locator("#unlisted-origin")
    expect(notice).to_contain_text("https://school.browser.example.org")
    expect(notice).to_contain_text("the Secretariat's pages included")
    expect(notice.get_by_role("button")).to_have_count(0)  # information only: nothing to click
    expect(page.get_by_role("button", name=re.compile("^Allow"))).to_have_count(0)
    expect(page.get_by_label("Extra frame origins")).to_have_value("")
    page.get_by_label("Extra frame origins").fill("https://school.example.org/courses")
    page.get_by_role("button", name="Save frame origins").click()
    expect(page.get_by_label("Extra frame origins")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#extra_frame_origins-error")).to_be_visible()
    page.get_by_label("Extra frame origins").fill("https://school.browser.example.org")
    page.get_by_role("button", name="Save frame origins").click()
    expect(page.locator(".flash")).to_contain_text("The origins allowed to frame the tool are saved")
    expect(page.get_by_label("Extra frame origins")).to_have_value("https://school.browser.example.org")
    expect(page.locator("#unlisted-origin")).to_have_count(0)
