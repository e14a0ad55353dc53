import datetime as dt

from tests.conftest import NOW


def test_parties_need_a_token(client):
    response = client.get("/api/v1/parties")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    problem = response.get_json()
    assert problem["code"] == "unauthorized" and problem["status"] == 401


def test_bad_and_revoked_tokens_are_refused(client, make_token, session, operator):
    from vcollege.core.accounts import revoke_api_token

    assert client.get("/api/v1/parties", headers={"Authorization": "Bearer vct_nope_nope"}).status_code == 401
    assert client.get("/api/v1/parties", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/v1/parties", headers={"Authorization": "Bearer "}).status_code == 401
    token, headers = make_token("parties:read")
    assert client.get("/api/v1/parties", headers=headers).status_code == 200
    revoke_api_token(session, token, actor=operator, now=NOW)
    session.commit()
    assert client.get("/api/v1/parties", headers=headers).status_code == 401


def test_expired_token_is_refused(client, make_token):
    _, headers = make_token("parties:read", now=NOW - dt.timedelta(days=400), expires_at=NOW - dt.timedelta(days=1))
    assert client.get("/api/v1/parties", headers=headers).status_code == 401


def test_wrong_scope_is_forbidden(client, make_token):
    _, headers = make_token("audit:read")
    response = client.get("/api/v1/parties", headers=headers)
    assert response.status_code == 403
    assert response.get_json()["permission"] == "parties:read"


def test_pagination_and_link_header(client, make_token):
    _, headers = make_token("parties:read")
    body = client.get("/api/v1/parties?per_page=50&page=2", headers=headers)
    data = body.get_json()
    assert data["pagination"] == {"page": 2, "per_page": 50, "total": 185, "pages": 4}
    assert len(data["items"]) == 50
    link = body.headers["Link"]
    assert 'rel="next"' in link and 'rel="prev"' in link and "page=3" in link
    last = client.get("/api/v1/parties?per_page=50&page=4", headers=headers).get_json()
    assert len(last["items"]) == 35
    assert client.get("/api/v1/parties?per_page=500", headers=headers).status_code == 422


def test_filters_and_categories_on_a_day(client, make_token):
    _, headers = make_token("parties:read")
    before = client.get("/api/v1/parties?category=ldc&as_of=2026-11-01&per_page=100", headers=headers).get_json()
    after = client.get("/api/v1/parties?category=ldc&as_of=2026-11-28&per_page=100", headers=headers).get_json()
    assert before["pagination"]["total"] - after["pagination"]["total"] == 3
    oceania = client.get("/api/v1/parties?region=Oceania", headers=headers).get_json()
    assert oceania["pagination"]["total"] == 9
    response = client.get("/api/v1/parties?region=Atlantis", headers=headers)
    assert response.status_code == 422
    assert "region" in response.get_json()["errors"]


def test_one_party(client, make_token):
    _, headers = make_token("parties:read")
    namibia = client.get("/api/v1/parties/NA", headers=headers).get_json()
    assert namibia["name"] == "Namibia" and namibia["iso3"] == "NAM"
    bangladesh = client.get("/api/v1/parties/bd?as_of=2026-11-23", headers=headers).get_json()
    assert bangladesh["ldc"] is True and bangladesh["priority_categories"] == ["ldc"]
    assert bangladesh["as_of"] == "2026-11-23"
    andorra = client.get("/api/v1/parties/AD?as_of=2026-11-28", headers=headers).get_json()
    assert andorra["recently_acceded"] is True
    missing = client.get("/api/v1/parties/QQ", headers=headers)
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"


def test_openapi_document_and_docs_page(client):
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/parties" in spec["paths"]
    assert "/api/v1/parties/{iso2}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operation = spec["paths"]["/api/v1/parties"]["get"]
    assert {"401", "403", "200"} <= set(operation["responses"])
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.get_data(as_text=True).lower()
    assert client.get("/api/docs/static/swagger-ui-bundle.js").status_code == 200


def test_session_writes_through_the_api_need_csrf(app, db, make_staff):
    """A browser session may read the API; a write needs the CSRF header (checked in `protected`)."""
    from flask_smorest import Blueprint

    from tests.conftest import csrf_token
    from vcollege import create_app
    from vcollege.api import api, protected
    from vcollege.core.models import Role
    from vcollege.extensions import csrf

    blp = Blueprint("probe", __name__, url_prefix="/api/v1/probe")

    @blp.post("")
    @protected(blp, "parties:read")
    def probe():
        return {"ok": True}

    other = create_app(dict(app.config))
    api.register_blueprint(blp)  # registered on the app `api` was last initialised with
    csrf.exempt(blp)  # as register_api does: token calls need no CSRF token
    client = other.test_client()
    officer = make_staff(Role.SECRETARIAT)
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = str(officer.id)
        flask_session["vcollege_via"] = "password"
    assert client.get("/api/v1/parties?per_page=1").status_code == 200
    assert client.post("/api/v1/probe").status_code == 400
    token = csrf_token(client)
    assert client.post("/api/v1/probe", headers={"X-CSRFToken": token}).status_code == 200


def test_a_token_call_records_its_use_in_the_requests_one_commit(client, make_token, session):
    token, headers = make_token("parties:read")
    assert token.last_used_at is None
    assert client.get("/api/v1/parties/KE", headers=headers).status_code == 200
    session.expire_all()
    assert token.last_used_at is not None


def test_days_before_the_convention_are_refused(client, make_token):
    _, headers = make_token("parties:read")
    for path in ("/api/v1/parties?as_of=0001-01-01", "/api/v1/parties/NA?as_of=1975-06-30"):
        response = client.get(path, headers=headers)
        assert response.status_code == 422 and "as_of" in response.get_json()["errors"]


def test_a_day_lists_only_the_parties_of_that_day(client, make_token):
    _, headers = make_token("parties:read")
    codes = {p["iso2"] for p in client.get("/api/v1/parties?as_of=2019-01-01&per_page=100", headers=headers).get_json()["items"]}
    body = client.get("/api/v1/parties?as_of=2019-01-01&per_page=100&page=2", headers=headers).get_json()
    codes |= {p["iso2"] for p in body["items"]}
    assert "AD" not in codes and "TM" not in codes and "KE" in codes  # Andorra 2022, Turkmenistan 2025
    assert body["pagination"]["total"] == 183


def test_search_is_literal(client, make_token):
    _, headers = make_token("parties:read")
    assert client.get("/api/v1/parties?q=%25", headers=headers).get_json()["pagination"]["total"] == 0
    assert client.get("/api/v1/parties?q=_", headers=headers).get_json()["pagination"]["total"] == 0
