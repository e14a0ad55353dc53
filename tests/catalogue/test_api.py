"""`/api/v1/courses`: filters, pagination, versions, 404s, scopes, and never a quiz answer."""

from __future__ import annotations

import pytest

from tests.catalogue.fixtures import sync_fixture_courses
from vcollege.core.models import Role


@pytest.fixture
def token(session, make_token):
    sync_fixture_courses(session)
    return make_token("courses:read")[1]


def test_list_with_filters_and_pagination(client, token):
    body = client.get("/api/v1/courses", headers=token).get_json()
    assert [c["slug"] for c in body["items"]] == ["cites-basics", "customs-checks", "ndf-workshop"]
    assert body["pagination"] == {"page": 1, "per_page": 25, "total": 3, "pages": 1}
    first = body["items"][0]
    assert first["title"]["es"] == "Conceptos básicos de la CITES"
    assert (first["version"], first["hours"], first["modules"], first["minutes"]) == (1, 2.5, 2, 70)
    assert first["languages"] == ["en", "fr", "es"] and first["status"] == "active"
    assert "'content'" not in str(body) and "correct" not in str(body)

    spanish = client.get("/api/v1/courses?language=es&delivery=in_person", headers=token).get_json()
    assert [c["slug"] for c in spanish["items"]] == ["ndf-workshop"]
    customs = client.get("/api/v1/courses?audience=customs&competency=identification", headers=token).get_json()
    assert [c["slug"] for c in customs["items"]] == ["customs-checks"]

    response = client.get("/api/v1/courses?per_page=1&page=2&audience=scientific_authority", headers=token)
    assert [c["slug"] for c in response.get_json()["items"]] == ["ndf-workshop"]
    assert 'rel="prev"' in response.headers["Link"] and "audience=scientific_authority" in response.headers["Link"]


def test_bad_filters_are_refused(client, token):
    response = client.get("/api/v1/courses?audience=police&delivery=webinar", headers=token)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert {"audience", "delivery"} <= set(response.get_json()["errors"])


def test_detail_of_the_current_or_a_given_version(client, token, courses, session, now):
    body = client.get("/api/v1/courses/cites-basics", headers=token).get_json()
    assert (body["slug"], body["version"], body["current_version"], body["versions"]) == ("cites-basics", 1, 1, [1])
    assert body["completion"] == {"modules": "all", "min_score": 70, "attendance": None}
    assert [m["key"] for m in body["modules"]] == ["appendices", "authorities"]
    appendices = body["modules"][0]
    assert appendices["title"]["fr"] == "Les trois Annexes"
    assert appendices["quiz"] == {"questions": 2, "pass_mark": 70, "attempts": 3}
    assert appendices["languages"] == ["en", "es", "fr"]
    assert body["modules"][1]["quiz"] is None
    text = str(body)
    assert "correct" not in text and "Appendix III" not in text and "'content'" not in text

    courses.edit("cites-basics/en/authorities.md", "Each Party", "Every Party")
    sync_fixture_courses(session, path=courses.root)
    assert client.get("/api/v1/courses/cites-basics", headers=token).get_json()["version"] == 2
    old = client.get("/api/v1/courses/cites-basics?version=1", headers=token).get_json()
    assert (old["version"], old["current_version"], old["versions"]) == (1, 2, [1, 2])


def test_retired_courses_stay_readable_and_listable_on_request(client, token, courses, session):
    courses.remove("ndf-workshop")
    sync_fixture_courses(session, path=courses.root)
    listed = client.get("/api/v1/courses", headers=token).get_json()
    assert "ndf-workshop" not in [c["slug"] for c in listed["items"]]
    everything = client.get("/api/v1/courses?include_retired=true", headers=token).get_json()
    assert "ndf-workshop" in [c["slug"] for c in everything["items"]]
    body = client.get("/api/v1/courses/ndf-workshop", headers=token).get_json()
    assert body["status"] == "retired" and body["retired_at"]


@pytest.mark.parametrize("path", ["/api/v1/courses/nowhere", "/api/v1/courses/cites-basics?version=9"])
def test_unknown_course_or_version_is_a_404_problem(client, token, path):
    response = client.get(path, headers=token)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "not-found"




def test_the_scope_is_required(client, session, make_token, make_person, sign_in):
    sync_fixture_courses(session)
    assert client.get("/api/v1/courses").status_code == 401
    _, other = make_token("parties:read")
    response = client.get("/api/v1/courses", headers=other)
    assert response.status_code == 403 and "courses:read" in response.get_json()["detail"]
    sign_in(make_person(roles=(Role.LEARNER,)), via="lti:https://lms.example.org")  # learners hold it too
    assert client.get("/api/v1/courses").status_code == 200


def test_documented_in_openapi(client):
    spec = client.get("/api/openapi.json").get_json()
    assert {"/api/v1/courses", "/api/v1/courses/{slug}"} <= set(spec["paths"])
    listing = spec["paths"]["/api/v1/courses"]["get"]
    assert {"language", "audience", "competency", "delivery", "page", "per_page"} <= {p["name"] for p in listing["parameters"]}
    assert "courses:read" in listing["description"]
    detail = spec["paths"]["/api/v1/courses/{slug}"]["get"]
    assert "404" in detail["responses"] and "version" in {p["name"] for p in detail["parameters"]}
