"""The catalogue, a course page and the coverage matrix in Chromium: filters, languages,
a 375px phone and a cross-site LMS frame."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import frame_tool
from tests.catalogue.fixtures import sync_fixture_courses
from tests.conftest import NOW, PASSWORD


@pytest.fixture
def catalogue(live_server):
    """The fixture courses in the live database (synced again by each test: a sync of other
    fixtures by another area's test would have retired them)."""
    with live_server.session() as session:
        sync_fixture_courses(session)
    return live_server


def cards(page):
    return page.locator(".course-card h2")


def test_the_catalogue_filters_with_a_shareable_get_form(page, catalogue):
    page.goto(catalogue.url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalogue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Course catalogue")
    expect(cards(page)).to_have_count(3)
    expect(page.get_by_role("status")).to_have_text("3 courses")

    page.get_by_label("Course language").select_option(label="Spanish")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/catalogue\?language=es&audience=&competency=&delivery=$"))
    expect(cards(page)).to_have_text(["CITES basics", "Non-detriment findings workshop"])
    expect(page.get_by_role("status")).to_have_text("2 courses of 3 match")

    page.get_by_label("Delivery").select_option(label="In person")
    page.get_by_label("Audience").select_option(label="Scientific Authority")
    page.get_by_role("button", name="Filter").click()
    expect(cards(page)).to_have_text(["Non-detriment findings workshop"])
    shared = page.url

    page.get_by_label("Competency area").select_option(label="Identification of specimens")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No course matches these filters.")).to_be_visible()
    page.get_by_role("link", name="Clear the filters").first.click()
    expect(cards(page)).to_have_count(3)

    page.goto(shared)  # the URL carries the filters
    expect(page.get_by_label("Delivery")).to_have_value("in_person")
    expect(page.get_by_label("Course language")).to_have_value("es")
    expect(cards(page)).to_have_text(["Non-detriment findings workshop"])


def test_a_course_page_with_its_modules_and_linked_prerequisites(page, catalogue):
    page.goto(catalogue.url + "/catalogue")
    page.get_by_role("link", name="Checking CITES documents at the border").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Checking CITES documents at the border")
    table = page.get_by_role("table")
    expect(table.locator("caption")).to_have_text("2 modules, 105 minutes in all")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").first).to_contain_text("Reading a permit")
    expect(table.locator("tbody tr").first).to_contain_text("Pass mark 80%, 2 attempts")
    expect(page.locator(".facts")).to_contain_text("Restricted to officials of CITES authorities")
    page.get_by_role("link", name="CITES basics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("CITES basics")
    expect(page.get_by_text("None: anyone can start with this course.")).to_be_visible()


def test_french_reader_sees_french_or_english_with_a_notice(browser, catalogue):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    try:
        page.goto(catalogue.url + "/catalogue")
        expect(page.get_by_role("heading", level=1)).to_have_text("Catalogue des cours")
        expect(cards(page)).to_have_text(["Contrôler les documents CITES à la frontière",
                                          "Les bases de la CITES", "Non-detriment findings workshop"])
        expect(page.locator(".course-card").nth(2)).to_contain_text("Affiché en anglais")
        page.get_by_role("link", name="Non-detriment findings workshop").click()
        expect(page.get_by_role("note").first).to_have_text("Ce cours n'existe pas en français : il est affiché en anglais.")
        expect(page.get_by_role("heading", level=1)).to_have_attribute("lang", "en")
        page.goto(catalogue.url + "/catalogue/customs-checks")
        expect(page.get_by_role("note").first).to_contain_text("Certains modules n'existent pas encore en français")
        expect(page.locator("tbody tr").nth(1).locator(".lang-tag")).to_have_text("Anglais")
        expect(page.locator("tbody tr").first).to_contain_text("Note de passage 80 %, 2 tentatives")
    finally:
        context.close()


def test_the_catalogue_and_a_course_fit_a_phone(phone, catalogue):
    for path in ("/catalogue", "/catalogue/ndf-workshop", "/catalogue?language=en&delivery=online"):
        phone.goto(catalogue.url + path)
        expect(phone.get_by_role("heading", level=1)).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path}: horizontal scroll, {width}px"
    phone.goto(catalogue.url + "/catalogue")
    phone.get_by_label("Delivery").select_option("in_person")
    phone.get_by_role("button", name="Filter").click()
    expect(cards(phone)).to_have_text(["Non-detriment findings workshop"])


def test_the_catalogue_works_inside_a_cross_site_lms_frame(page, catalogue, fake_lms):
    frame_tool(page, catalogue, fake_lms, "/catalogue")
    frame = page.frame_locator("#tool")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Course catalogue")
    frame.get_by_label("Course language").select_option("fr")
    frame.get_by_role("button", name="Filter").click()
    expect(frame.locator(".course-card h2")).to_have_text(["CITES basics"])
    frame.get_by_role("link", name="CITES basics").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("CITES basics")
    expect(page.frame_locator("#tool").locator("html")).to_have_class(re.compile(r"\bin-frame\b"))  # app.js runs deferred


def test_the_secretariat_reads_the_translation_coverage(page, catalogue):
    from vcollege.core.accounts import create_staff_account, find_account
    from vcollege.core.models import Role
    from vcollege.core.permissions import Actor

    email = "coverage@example.org"
    with catalogue.session() as session:
        if find_account(session, email) is None:
            create_staff_account(session, email=email, password=PASSWORD, name="Coverage Officer",
                                 roles=[Role.SECRETARIAT], actor=Actor.operator("tests"), now=NOW)
    page.goto(catalogue.url + "/catalogue/coverage")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/catalogue/coverage$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Translation coverage")
    table = page.get_by_role("table")
    expect(table.locator("caption")).to_have_text("3 courses in 4 languages")
    row = table.get_by_role("row", name=re.compile("Checking CITES documents"))
    expect(row.locator('[data-language="fr"]')).to_contain_text("Partial")
    expect(row.locator('[data-language="fr"]')).to_contain_text("1 of 2 modules")
    expect(row.locator('[data-language="es"]')).to_have_text("Missing")
    expect(table.locator("tfoot")).to_contain_text("Complete courses")
