"""The catalogue's pages through the test client (the browser tests are in tests/browser/)."""

from __future__ import annotations

import re

import pytest

from tests.catalogue.fixtures import sync_fixture_courses
from vcollege.core.models import Role


@pytest.fixture
def synced(session):
    sync_fixture_courses(session)
    return session


def titles(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/catalogue/[^"]+"[^>]*>([^<]+)</a></h2>', html)


def test_the_catalogue_is_public_and_in_the_navigation(client, synced):
    response = client.get("/catalogue")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # by title in the reader's language
    assert titles(html) == ["Checking CITES documents at the border", "CITES basics", "Non-detriment findings workshop"]
    assert '<a href="/catalogue" aria-current="page">Catalogue</a>' in html
    assert "3 courses" in html
    assert "Translation coverage" not in html  # only for those who manage the catalogue


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("language=es", ["CITES basics", "Non-detriment findings workshop"]),
        ("audience=customs", ["Checking CITES documents at the border"]),
        ("competency=non_detriment_findings", ["Non-detriment findings workshop"]),
        ("delivery=in_person&language=en", ["Non-detriment findings workshop"]),
        ("language=&audience=&competency=&delivery=online", ["Checking CITES documents at the border", "CITES basics"]),
        ("audience=judiciary", []),
    ],
)
def test_filters_are_a_get_form(client, synced, query, expected):
    html = client.get(f"/catalogue?{query}").get_data(as_text=True)
    assert titles(html) == expected
    assert '<form method="get" action="/catalogue"' in html
    if not expected:
        assert "No course matches these filters." in html


def test_filters_keep_their_values(client, synced):
    html = client.get("/catalogue?delivery=online&audience=customs").get_data(as_text=True)
    assert '<option value="online" selected>' in html
    assert '<option value="customs" selected>' in html
    assert "1 course of 3 matches" in html


def test_a_bad_filter_is_refused(client, synced):
    response = client.get("/catalogue?delivery=webinar", headers={"Accept": "text/html"})
    assert response.status_code == 422
    assert "delivery" in response.get_data(as_text=True)


def test_texts_in_the_interface_language_else_english_with_a_notice(client, synced):
    french = {"Accept-Language": "fr"}
    html = client.get("/catalogue", headers=french).get_data(as_text=True)
    assert "Les bases de la CITES" in html and "Contrôler les documents CITES à la frontière" in html
    assert 'lang="en">Non-detriment findings workshop</a>' in html
    assert "Affiché en anglais" in html

    html = client.get("/catalogue/ndf-workshop", headers=french).get_data(as_text=True)
    assert '<h1 lang="en">Non-detriment findings workshop</h1>' in html
    assert "Ce cours n'existe pas en français : il est affiché en anglais." in html

    html = client.get("/catalogue/customs-checks", headers=french).get_data(as_text=True)
    assert "<h1>Contrôler les documents CITES à la frontière</h1>" in html
    assert "Certains modules n'existent pas encore en français" in html
    assert '<span lang="en">Inspecting a shipment</span>' in html
    assert "<span>Lire un permis</span>" in html
    assert "4 heures" in html and "2 modules, 105 minutes au total" in html and "Note de passage 80 %" in html


def test_a_reader_of_portuguese_sees_what_exists_in_portuguese(client, synced, make_person, sign_in):
    sign_in(make_person(preferred_language="pt"), via="lti:https://lms.example.org")
    html = client.get("/catalogue/ndf-workshop").get_data(as_text=True)
    assert '<h1>Oficina sobre pareceres de extração não prejudicial</h1>' in html
    assert "<span>A orientação sobre pareceres</span>" in html
    assert '<span lang="en">Case studies</span>' in html


def test_the_course_page(client, synced):
    html = client.get("/catalogue/customs-checks").get_data(as_text=True)
    assert "<h1>Checking CITES documents at the border</h1>" in html
    assert '<a href="/catalogue/cites-basics">CITES basics</a>' in html  # prerequisite, linked
    assert "2 modules, 105 minutes in all" in html
    assert "Pass mark 80%, 2 attempts" in html
    assert "Restricted to officials of CITES authorities" in html
    assert "Customs, Police and wildlife enforcement" in html
    assert "Permits and certificates, Identification of specimens" in html
    assert "4 hours" in html and "Reach an average of 80%" in html
    html = client.get("/catalogue/ndf-workshop").get_data(as_text=True)
    assert "Attend at least 80% of the sessions." in html and "In person" in html
    assert "English, Spanish" in re.sub(r"<[^>]+>", "", html)


def test_old_versions_and_retired_courses_stay_readable(client, synced, courses, session):
    courses.edit("customs-checks/en/inspecting-a-shipment.md", "Count the specimens", "Count every specimen")
    courses.remove("ndf-workshop")
    sync_fixture_courses(session, path=courses.root)
    html = client.get("/catalogue/customs-checks?version=1").get_data(as_text=True)
    assert "You are reading version 1 of this course; the current version is 2." in html
    html = client.get("/catalogue/ndf-workshop").get_data(as_text=True)
    assert "This course has been retired" in html
    assert "Non-detriment findings workshop" not in client.get("/catalogue").get_data(as_text=True)


def test_unknown_course_or_version_is_a_404_page(client, synced):
    for path in ("/catalogue/nowhere", "/catalogue/cites-basics?version=4"):
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 404
        assert "<!doctype html>" in response.get_data(as_text=True)


def test_coverage_page_is_for_the_secretariat(client, synced, make_staff, sign_in):
    assert client.get("/catalogue/coverage").status_code == 302  # to the sign-in page
    sign_in(make_staff(Role.TRAINER))
    assert client.get("/catalogue/coverage", headers={"Accept": "text/html"}).status_code == 403
    sign_in(make_staff(Role.SECRETARIAT))
    html = client.get("/catalogue/coverage").get_data(as_text=True)
    assert "3 courses in 4 languages" in html
    cells = re.findall(r'<td class="coverage-(\w+)" data-language="(\w+)">', html)
    assert cells[:4] == [("complete", "en"), ("complete", "fr"), ("complete", "es"), ("missing", "pt")]
    assert ("partial", "fr") in cells[4:8]
    assert "1 of 2 modules" in html and "0 of 1 quizzes" in html
    assert "Translation coverage" in client.get("/catalogue").get_data(as_text=True)
