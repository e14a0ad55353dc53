"""The base layout, home, language, staff sign-in and the Secretariat's pages in Chromium."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import frame_tool
from tests.conftest import NOW, PASSWORD


def make_staff(live_server, role, email):
    from vcollege.core.accounts import create_staff_account, find_account
    from vcollege.core.permissions import Actor

    with live_server.session() as session:
        if find_account(session, email) is None:
            create_staff_account(session, email=email, password=PASSWORD, name=f"Officer {role.value}",
                                 roles=[role], actor=Actor.operator("tests"), now=NOW, party="CH")


def sign_in(page, live_server, email):
    page.goto(f"{live_server.url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Signed in as")


def test_home_is_accessible_and_switches_language(page, live_server):
    page.goto(live_server.url + "/")
    expect(page).to_have_title(re.compile("Home"))
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", level=1)).to_have_text("CITES Virtual College")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    # skip link is the first focusable element and lands on main
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_label("Language").select_option("fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("link", name="Connexion du personnel").first).to_be_visible()
    page.wait_for_load_state("load")  # app.js submits the menu on change once it has run
    page.get_by_label("Langue").select_option("es")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator(".figure").first).to_contain_text("Partes")


def test_wrong_password_is_refused_then_sign_in_and_out(page, live_server):
    from vcollege.core.models import Role

    make_staff(live_server, Role.SECRETARIAT, "officer@example.org")
    page.goto(f"{live_server.url}/login")
    page.get_by_label("E-mail").fill("officer@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#password-error")).to_have_text("The e-mail or the password is wrong.")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Audit log")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)


def test_secretariat_reads_and_filters_the_audit_log(page, live_server):
    from vcollege.core.models import Role

    make_staff(live_server, Role.SECRETARIAT, "auditor@example.org")
    sign_in(page, live_server, "auditor@example.org")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    rows = page.locator("tbody tr")
    expect(rows.first).to_be_visible()
    page.get_by_label("Action starts with").fill("account.created")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody")).to_contain_text("auditor@example.org")
    for action in page.locator("tbody code.action").all_inner_texts():
        assert action.startswith("account.created")


def test_trainer_is_refused_the_audit_log(page, live_server):
    from vcollege.core.models import Role

    make_staff(live_server, Role.TRAINER, "trainer@example.org")
    sign_in(page, live_server, "trainer@example.org")
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    response = page.goto(f"{live_server.url}/audit")
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("audit:read")


def test_secretariat_marks_a_compliance_procedure(page, live_server):
    from vcollege.core.models import Role

    make_staff(live_server, Role.SECRETARIAT, "compliance@example.org")
    sign_in(page, live_server, "compliance@example.org")
    page.goto(f"{live_server.url}/parties?category=sids")
    expect(page.locator("caption")).to_have_text("31 Parties")
    page.goto(f"{live_server.url}/parties/GN")
    page.get_by_label("Procedure").select_option("article_xiii")
    page.get_by_role("button", name="Mark procedure").click()
    expect(page.locator("#started_on-error")).to_be_visible()  # the date is required
    page.get_by_label("Since").fill("2026-05-02")
    page.get_by_label("Reference (e.g. SC77 Doc. 33)").fill("SC78 SR")
    page.get_by_role("button", name="Mark procedure").click()
    expect(page.locator(".flash")).to_contain_text("under a compliance procedure")
    expect(page.locator("tbody")).to_contain_text("Article XIII compliance procedure")


def test_layout_fits_a_phone(phone, live_server):
    phone.goto(live_server.url + "/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"horizontal scroll: {width}px"
    expect(phone.get_by_role("heading", level=1)).to_be_visible()


def test_pages_work_inside_a_cross_site_frame(page, live_server, fake_lms):
    # An allowed embedding origin (FRAME_ANCESTORS) frames the tool; the layout turns compact.
    frame_tool(page, live_server, fake_lms, "/")
    frame = page.frame_locator("#tool")
    expect(frame.get_by_role("heading", level=1)).to_have_text("CITES Virtual College")
    expect(page.frame_locator("#tool").locator("html")).to_have_class(re.compile(r"\bin-frame\b"))  # app.js runs deferred


def test_a_site_not_allowed_cannot_frame_the_pages(page, live_server, fake_lms):
    live_server.app.config["FRAME_ANCESTORS"] = []
    try:
        frame_tool(page, live_server, fake_lms, "/")
        page.wait_for_timeout(500)
        assert page.frame_locator("#tool").get_by_role("heading", level=1).count() == 0
    finally:
        live_server.app.config["FRAME_ANCESTORS"] = [fake_lms.origin]


def test_the_api_documentation_renders_every_operation(page, live_server):
    page.goto(live_server.url + "/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("vcollege")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/parties/{iso2}")).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/courses")).to_have_count(2)
    assert page.locator(".swagger-ui .errors-wrapper").count() == 0
