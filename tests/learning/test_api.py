"""The learning API: the learner's own endpoints (session + CSRF), the trainers' and other
systems' endpoints (token scopes), and the OpenAPI document."""

import pytest

from tests.conftest import NOW, count
from tests.learning.conftest import HALF, RIGHT, enrol, finish_basics
from vcollege.learning.models import Completion, Enrolment, QuizAttempt

LTI = "lti:https://lms.example.org"


@pytest.fixture
def as_learner(client, sign_in, csrf, learner):
    sign_in(learner, via=LTI)
    return {"X-CSRFToken": csrf("/learn")}


def test_my_enrolments_progress_and_a_quiz_through_the_api(client, session, courses, learner, as_learner):
    enrol(session, learner, courses["cites-basics"])
    session.commit()
    listing = client.get("/api/v1/me/enrolments")
    assert listing.status_code == 200
    [item] = listing.get_json()
    assert item["course"] == "cites-basics" and item["progress"] == 0 and item["status"] == "active"
    assert item["continue_module"] == "appendices" and item["completion"] is None

    module = client.get("/api/v1/me/enrolments/cites-basics/modules/appendices?lang=fr").get_json()
    assert module["language"] == "fr" and not module["fallback"] and "<p>" in module["html"]
    assert module["quiz"][1]["multiple"] is True
    assert "correct" not in str(module["quiz"]) and "explanation" not in str(module["quiz"])
    version = courses["cites-basics"]
    quiz = next(m for m in version.modules if m.key == "appendices").quiz
    explanations = [q["explanation"] for questions in quiz.values() for q in questions if q.get("explanation")]
    assert explanations and not any(text in str(module) for text in explanations)

    attempt = client.post("/api/v1/me/enrolments/cites-basics/modules/appendices/attempts",
                          json={"answers": HALF, "language": "en"}, headers=as_learner)
    assert attempt.status_code == 201, attempt.get_json()
    body = attempt.get_json()
    assert body["score"] == 50 and not body["passed"] and body["attempts_left"] == 2
    assert [q["right"] for q in body["questions"]] == [True, False] and body["answers_revealed"] is False
    assert all(q["correct_choices"] is None and q["explanation"] is None for q in body["questions"])

    read = client.post("/api/v1/me/enrolments/cites-basics/modules/authorities/progress", json={"read": True},
                       headers=as_learner)
    assert read.status_code == 200 and read.get_json()["progress"] == 50
    done = client.post("/api/v1/me/enrolments/cites-basics/modules/appendices/attempts",
                       json={"answers": RIGHT}, headers=as_learner).get_json()
    assert done["answers_revealed"] is True  # the course is completed: the answers may be seen now
    assert done["questions"][1]["correct_choices"] == ["a", "b"] and done["questions"][0]["explanation"]
    completion = done["enrolment"]["completion"]
    assert done["enrolment"]["status"] == "completed" and completion["score"] == 100
    assert completion["verification_code"] and completion["certificate_url"].endswith(".pdf")


def test_correct_choices_never_reach_the_api_while_an_attempt_remains(client, session, courses, learner, as_learner):
    enrol(session, learner, courses["cites-basics"])
    session.commit()
    path = "/api/v1/me/enrolments/cites-basics/modules/appendices/attempts"
    version = courses["cites-basics"]
    explanation = next(m for m in version.modules if m.key == "appendices").quiz["en"][0]["explanation"]
    # q1 right (a), q2 wrong: its correct choices (a and b) must not be told
    for left in (2, 1):
        response = client.post(path, json={"answers": {"q1": ["a"], "q2": ["c"]}, "language": "en"}, headers=as_learner)
        body = response.get_json()
        assert response.status_code == 201 and body["attempts_left"] == left and not body["passed"]
        assert body["answers_revealed"] is False and [q["right"] for q in body["questions"]] == [True, False]
        assert [q["correct_choices"] for q in body["questions"]] == [None, None]
        assert explanation not in response.get_data(as_text=True)
        assert '"correct"' not in response.get_data(as_text=True)
    # the last attempt, failed too: nothing more to gain, the answers are shown
    last = client.post(path, json={"answers": {"q1": ["a"], "q2": ["c"]}, "language": "en"}, headers=as_learner).get_json()
    assert last["attempts_left"] == 0 and last["answers_revealed"] is True
    assert last["questions"][1]["correct_choices"] == ["a", "b"] and last["questions"][0]["explanation"] == explanation


def test_a_pass_with_attempts_left_reveals_nothing_through_the_api(client, session, courses, learner, as_learner):
    enrol(session, learner, courses["cites-basics"])
    session.commit()
    body = client.post("/api/v1/me/enrolments/cites-basics/modules/appendices/attempts",
                       json={"answers": RIGHT}, headers=as_learner).get_json()
    assert body["passed"] and body["attempts_left"] == 2 and body["enrolment"]["status"] == "active"
    assert body["answers_revealed"] is False
    assert all(q["correct_choices"] is None and q["explanation"] is None for q in body["questions"])


def test_writes_need_the_csrf_header_and_bad_answers_write_nothing(client, session, courses, learner, as_learner):
    enrol(session, learner, courses["cites-basics"])
    session.commit()
    refused = client.post("/api/v1/me/enrolments/cites-basics/modules/appendices/attempts", json={"answers": RIGHT})
    assert refused.status_code == 400 and refused.get_json()["code"] == "csrf-failed"
    bad = client.post("/api/v1/me/enrolments/cites-basics/modules/appendices/attempts",
                      json={"answers": {"q1": ["a"]}}, headers=as_learner)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert "q2" in bad.get_json()["errors"]
    shape = client.post("/api/v1/me/enrolments/cites-basics/modules/appendices/attempts",
                        json={"answers": {"q1": [1]}}, headers=as_learner)
    assert shape.status_code == 422
    assert count(session, QuizAttempt) == 0
    missing = client.get("/api/v1/me/enrolments/customs-checks")
    assert missing.status_code == 404


def test_prerequisites_are_refused_with_their_list(client, session, courses, learner, as_learner):
    enrol(session, learner, courses["customs-checks"])
    session.commit()
    response = client.get("/api/v1/me/enrolments/customs-checks/modules/reading-a-permit")
    assert response.status_code == 403
    assert response.get_json()["errors"] == {"prerequisites": ["cites-basics"]}
    detail = client.get("/api/v1/me/enrolments/customs-checks").get_json()
    assert detail["missing_prerequisites"] == ["cites-basics"] and len(detail["modules"]) == 2


def test_me_endpoints_need_a_learner_not_a_token(client, make_token):
    assert client.get("/api/v1/me/enrolments").status_code == 401
    _token, headers = make_token("enrolments:read")
    response = client.get("/api/v1/me/enrolments", headers=headers)
    assert response.status_code == 403


def test_trainer_token_enrols_lists_and_waives(client, session, courses, learner, make_token):
    _token, headers = make_token("enrolments:manage", "enrolments:read")
    created = client.post("/api/v1/enrolments", json={"email": learner.email, "course": "cites-basics"}, headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["source"] == "api" and body["person_id"] == learner.id
    again = client.post("/api/v1/enrolments", json={"person_id": learner.id, "course": "cites-basics"}, headers=headers)
    assert again.get_json()["id"] == body["id"] and count(session, Enrolment) == 1
    listing = client.get("/api/v1/enrolments?course=cites-basics", headers=headers).get_json()
    assert [row["name"] for row in listing["items"]] == ["Wanjiru Kamau"]
    waiver = client.post(f"/api/v1/enrolments/{body['id']}/waivers", json={"reason": "Equivalent training"}, headers=headers)
    assert waiver.status_code == 201 and waiver.get_json()["status"] == "completed"
    assert waiver.get_json()["completion"]["waived"] is True


def test_enrolment_input_errors_write_nothing(client, session, courses, learner, make_token):
    _token, headers = make_token("enrolments:manage")
    for payload, status, field in (
        ({"course": "cites-basics"}, 422, "email"),
        ({"email": learner.email, "person_id": learner.id, "course": "cites-basics"}, 422, "email"),
        ({"email": "nobody@example.org", "course": "cites-basics"}, 404, "email"),
        ({"email": learner.email, "course": "no-such-course"}, 404, "slug"),
        ({"email": learner.email, "course": "cites-basics", "version": 9}, 404, "version"),
    ):
        response = client.post("/api/v1/enrolments", json=payload, headers=headers)
        assert response.status_code == status, (payload, response.get_json())
        assert field in response.get_json().get("errors", {}), response.get_json()
    assert count(session, Enrolment) == 0
    _token, read_only = make_token("enrolments:read")
    assert client.post("/api/v1/enrolments", json={"email": learner.email, "course": "cites-basics"},
                       headers=read_only).status_code == 403
    assert count(session, Enrolment) == 0


def test_completions_for_other_systems(client, session, courses, learner, make_person, make_token):
    finish_basics(session, learner, courses["cites-basics"])
    other = make_person("Paul Mbarga", party="CM")
    enrol(session, other, courses["cites-basics"])
    session.commit()
    _token, headers = make_token("completions:read")
    page = client.get("/api/v1/completions?course=cites-basics", headers=headers).get_json()
    assert page["pagination"]["total"] == 1
    [row] = page["items"]
    assert row["name"] == "Wanjiru Kamau" and row["party"] == "KE" and row["score"] == 100 and row["hours"] == 2.5
    assert row["verification_code"] and row["completed_at"].startswith(NOW.date().isoformat())
    assert client.get("/api/v1/completions?party=CM", headers=headers).get_json()["items"] == []
    assert client.get("/api/v1/completions?party=cm", headers=headers).status_code == 422
    _token, wrong = make_token("enrolments:read")
    assert client.get("/api/v1/completions", headers=wrong).status_code == 403
    assert count(session, Completion) == 1


def test_openapi_documents_the_learning_endpoints(client):
    spec = client.get("/api/openapi.json").get_json()
    paths = spec["paths"]
    for path in ("/api/v1/me/enrolments", "/api/v1/me/enrolments/{slug}/modules/{key}",
                 "/api/v1/me/enrolments/{slug}/modules/{key}/progress",
                 "/api/v1/me/enrolments/{slug}/modules/{key}/attempts", "/api/v1/enrolments", "/api/v1/completions"):
        assert path in paths, path
    attempt = paths["/api/v1/me/enrolments/{slug}/modules/{key}/attempts"]["post"]
    assert "201" in attempt["responses"] and "409" in attempt["responses"]
    assert "completions:read" in paths["/api/v1/completions"]["get"]["description"]
