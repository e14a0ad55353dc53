"""One error tree, one handler: problem documents for API and LTI callers, pages for people,
a plain 500 that leaks nothing."""

import logging

import pytest
from flask import Blueprint

from vcollege import create_app
from vcollege.errors import Conflict, InvalidInput


@pytest.fixture
def failing_app(app, db):
    """An app with routes that fail on purpose (a fresh one: setup is closed after requests)."""
    other = create_app(dict(app.config))
    probe = Blueprint("probe", __name__)

    @probe.get("/boom")
    def boom():
        raise RuntimeError("secret database password is hunter2")

    @probe.get("/api/v1/boom")
    def api_boom():
        raise RuntimeError("secret internals")

    @probe.get("/conflict")
    def conflict():
        raise Conflict("The seat is taken.", errors={"seat": ["Taken."]})

    @probe.get("/api/v1/busy")
    def busy():
        from sqlalchemy.exc import OperationalError

        raise OperationalError("UPDATE ...", {}, Exception("database is locked"))

    @probe.get("/api/v1/invalid")
    def invalid():
        raise InvalidInput("Invalid fields: hours", errors={"hours": ["Must be positive."]})

    other.register_blueprint(probe)
    return other


def test_api_problem_document(failing_app):
    response = failing_app.test_client().get("/api/v1/invalid")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json() == {
        "type": "urn:vcollege:problem:invalid-input", "title": "Some fields are not valid",
        "status": 422, "code": "invalid-input", "detail": "Invalid fields: hours",
        "instance": "/api/v1/invalid", "errors": {"hours": ["Must be positive."]},
    }


def test_people_get_a_page_in_their_language(failing_app):
    client = failing_app.test_client()
    response = client.get("/conflict", headers={"Accept": "text/html", "Accept-Language": "fr"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert "Cela entre en conflit avec l'état actuel" in page
    assert "The seat is taken." in page and "seat" in page
    # outside /api, a JSON client gets the problem document
    response = client.get("/conflict", headers={"Accept": "application/json"})
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == {"seat": ["Taken."]}


def test_not_found_both_ways(client):
    assert client.get("/api/v1/nothing").mimetype == "application/problem+json"
    response = client.get("/nothing", headers={"Accept": "text/html"})
    assert response.status_code == 404 and "Not found" in response.get_data(as_text=True)


def test_unexpected_errors_are_logged_and_hidden(failing_app, caplog):
    client = failing_app.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/boom", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert response.get_data(as_text=True) == "Internal Server Error\n"
    assert "hunter2" in caplog.text and "Traceback" in caplog.text
    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.get_json() == {"type": "about:blank", "title": "Internal Server Error", "status": 500}
    assert "secret" not in response.get_data(as_text=True)


def test_method_not_allowed_is_a_problem_too(client):
    response = client.delete("/api/v1/parties")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"


def test_a_busy_sqlite_database_asks_to_try_again(failing_app):
    response = failing_app.test_client().get("/api/v1/busy")
    assert response.status_code == 409 and response.get_json()["code"] == "try-again"
