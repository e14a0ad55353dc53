from sqlalchemy import select

from tests.conftest import PASSWORD, count
from vcollege.core.models import AuditEntry, Person, Role


def login(client, csrf, email, password=PASSWORD, **extra):
    return client.post("/login", data={"csrf_token": csrf("/login"), "email": email, "password": password, **extra})


def test_login_and_logout(client, csrf, make_staff):
    officer = make_staff(Role.SECRETARIAT, email="officer@example.org")
    response = login(client, csrf, "Officer@Example.org", next="/audit")
    assert response.status_code == 302
    assert response.headers["Location"] == "/audit"
    assert client.get("/audit").status_code == 200
    page = client.get("/").get_data(as_text=True)
    assert officer.name in page
    response = client.post("/logout", data={"csrf_token": csrf()})
    assert response.status_code == 302
    assert client.get("/audit").status_code == 302  # back to the login page


def test_login_refuses_wrong_password_and_names_the_field(client, csrf, make_staff):
    make_staff(email="officer@example.org")
    response = login(client, csrf, "officer@example.org", "wrong password")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="password-error"' in page
    assert "The e-mail or the password is wrong." in page


def test_login_does_not_follow_foreign_redirects(client, csrf, make_staff):
    make_staff(email="officer@example.org")
    response = login(client, csrf, "officer@example.org", next="https://evil.example/")
    assert response.headers["Location"] == "/"
    response = login(client, csrf, "officer@example.org", next="//evil.example/")
    assert response.headers["Location"] == "/"


def test_login_is_rate_limited(client, csrf, make_staff):
    make_staff(email="officer@example.org")
    statuses = [login(client, csrf, "officer@example.org", "wrong password").status_code for _ in range(6)]
    assert statuses[:5] == [422] * 5
    assert statuses[5] == 429
    # the right password is refused too while the limit holds
    assert login(client, csrf, "officer@example.org").status_code == 429


def test_forms_need_the_csrf_token(client, make_staff):
    make_staff(email="officer@example.org")
    response = client.post("/login", data={"email": "officer@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)
    response = client.post("/logout")
    assert response.status_code == 400


def test_session_cookie_flags(client, csrf, make_staff):
    make_staff(email="officer@example.org")
    response = login(client, csrf, "officer@example.org")
    cookie = response.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie  # plain HTTP in tests; production: see test_app


def test_anonymous_is_sent_to_login_and_api_gets_a_problem(client):
    response = client.get("/audit")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/audit")
    response = client.get("/audit", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_trainer_cannot_read_the_audit_log(client, sign_in, make_staff):
    sign_in(make_staff(Role.TRAINER))
    response = client.get("/audit")
    assert response.status_code == 403
    assert "audit:read" in response.get_data(as_text=True)


def test_audit_page_filters(client, sign_in, make_staff, make_person):
    sign_in(make_staff(Role.SECRETARIAT))
    make_person("Zawadi Otieno")
    page = client.get("/audit?action=person.created").get_data(as_text=True)
    assert "Zawadi Otieno" in page
    page = client.get("/audit?action=account.").get_data(as_text=True)
    assert "Zawadi Otieno" not in page
    response = client.get("/audit?since=yesterday")
    assert response.status_code == 422
    assert "since" in response.get_data(as_text=True)


def test_parties_page_and_filters(client, sign_in, make_staff):
    sign_in(make_staff(Role.TRAINER))
    page = client.get("/parties?category=sids&as_of=2026-11-28").get_data(as_text=True)
    assert "31 Parties" in page
    page = client.get("/parties?category=ldc&as_of=2026-11-01").get_data(as_text=True)
    assert "Bangladesh" in page
    page = client.get("/parties?category=ldc&as_of=2026-11-28").get_data(as_text=True)
    assert "Bangladesh" not in page
    assert client.get("/parties?category=rich").status_code == 422
    assert client.get("/parties/NA").status_code == 200
    assert client.get("/parties/QQ").status_code == 404


def test_party_names_follow_the_interface_language(client, sign_in, make_staff):
    sign_in(make_staff(Role.TRAINER, preferred_language="fr"))
    page = client.get("/parties?q=germ").get_data(as_text=True)
    assert "Allemagne" in page
    assert 'lang="fr"' in page


def test_trainer_cannot_mark_compliance(client, sign_in, make_staff, csrf, session):
    sign_in(make_staff(Role.TRAINER))
    response = client.post("/parties/KE/compliance", data={"csrf_token": csrf(), "procedure": "other", "started_on": "2026-01-01"})
    assert response.status_code == 403


def test_compliance_form_errors_are_shown_and_nothing_written(client, sign_in, make_staff, csrf, session):
    from vcollege.core.models import ComplianceCase

    sign_in(make_staff(Role.SECRETARIAT))
    response = client.post("/parties/KE/compliance", data={"csrf_token": csrf(), "procedure": "bogus", "started_on": "soon"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="started_on-error"' in page and 'id="procedure-error"' in page
    assert count(session, ComplianceCase) == 0


def test_secretariat_grants_roles_with_a_reason(client, sign_in, make_staff, make_person, csrf, session):
    sign_in(make_staff(Role.SECRETARIAT))
    learner = make_person("Juan Quispe")
    response = client.post(f"/people/{learner.id}/roles", data={"csrf_token": csrf(), "role": "trainer", "reason": "national trainer"})
    assert response.status_code == 302
    session.refresh(learner)
    assert learner.has_role(Role.TRAINER)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "person.role_granted", AuditEntry.target_id == str(learner.id), AuditEntry.reason == "national trainer"))
    assert entry is not None
    response = client.post(f"/people/{learner.id}/roles", data={"csrf_token": csrf(), "role": "trainer", "reason": ""})
    assert response.status_code == 422


def test_trainer_cannot_grant_roles(client, sign_in, make_staff, make_person, csrf, session):
    sign_in(make_staff(Role.TRAINER))
    learner = make_person()
    response = client.post(f"/people/{learner.id}/roles", data={"csrf_token": csrf(), "role": "secretariat", "reason": "please"})
    assert response.status_code == 403
    session.refresh(learner)
    assert not learner.has_role(Role.SECRETARIAT)


def test_language_choice_is_remembered_for_the_person(client, sign_in, make_staff, csrf, session):
    officer = sign_in(make_staff(Role.SECRETARIAT))
    response = client.post("/language", data={"csrf_token": csrf(), "language": "es", "next": "/parties"})
    assert response.headers["Location"] == "/parties"
    assert session.get(Person, officer.id).preferred_language == "es"
    assert 'lang="es"' in client.get("/").get_data(as_text=True)
    response = client.post("/language", data={"csrf_token": csrf(), "language": "xx"})
    assert response.status_code == 422


def test_anonymous_language_follows_the_browser_then_the_choice(client, csrf):
    page = client.get("/", headers={"Accept-Language": "es-PE,es;q=0.9"}).get_data(as_text=True)
    assert 'lang="es"' in page
    client.post("/language", data={"csrf_token": csrf(), "language": "fr"})
    page = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert 'lang="fr"' in page
    assert "Collège virtuel CITES" in page


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp
    assert "script-src 'self';" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_health(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "parties": 185}


def test_scheduler_page(client, sign_in, make_staff):
    sign_in(make_staff(Role.SECRETARIAT))
    page = client.get("/system/scheduler").get_data(as_text=True)
    assert "No scheduler is running." in page


def test_a_reader_of_another_language_keeps_it_for_content(client, sign_in, make_person, csrf, session):
    """Ana reads Portuguese course content; the interface offers en/fr/es: choosing French for
    the interface must not lose her Portuguese."""
    ana = sign_in(make_person("Ana Tavares", preferred_language="pt", party="MZ"), via="lti:https://lms.example.org")
    client.post("/language", data={"csrf_token": csrf(), "language": "fr"})
    assert session.get(Person, ana.id).preferred_language == "pt"
    assert 'lang="fr"' in client.get("/").get_data(as_text=True)


def test_pages_ignore_an_authorization_header(client):
    """A site behind HTTP basic auth (a staging proxy) still serves its pages."""
    for header in ("Basic dXNlcjpwYXNz", "Bearer vct_not_a_token", "Bearer "):
        assert client.get("/", headers={"Authorization": header}).status_code == 200
    basic = {"Authorization": "Basic dXNlcjpwYXNz"}
    assert client.get("/api/v1/parties", headers=basic).status_code == 401  # no token, no session
    assert client.get("/api/docs", headers=basic).status_code == 200


def test_people_page_filters_and_refuses_bad_arguments(client, sign_in, make_staff, make_person):
    sign_in(make_staff(Role.SECRETARIAT))
    make_person("Zawadi Otieno")
    assert "Zawadi Otieno" in client.get("/people?q=zawadi&role=learner").get_data(as_text=True)
    assert "Zawadi Otieno" not in client.get("/people?q=zawadi&role=trainer").get_data(as_text=True)
    assert client.get("/people?role=emperor").status_code == 422
    assert client.get("/people?page=-3").status_code == 422
