"""Who may frame the tool: the registered platforms' own origins and those the Secretariat
adds; a launch's unlisted origin is a suggestion, accepted with one click."""

from __future__ import annotations

import pytest

from tests.conftest import NOW, count


def _frame_ancestors(response) -> list[str]:
    csp = response.headers["Content-Security-Policy"]
    return csp.split("frame-ancestors", 1)[1].split(";")[0].split()


def _form_action(response) -> list[str]:
    csp = response.headers["Content-Security-Policy"]
    return csp.split("form-action", 1)[1].split(";")[0].split()


@pytest.fixture
def officer(client, make_staff, sign_in):
    from vcollege.core.models import Role

    return sign_in(make_staff(Role.SECRETARIAT))


def test_frame_ancestors_are_the_platforms_own_origins(session, client, operator):
    from vcollege.lti.platforms import register_platform

    register_platform(session, issuer="https://lms.example.org", client_id="c1", name="LMS",
                      auth_login_url="https://auth.example.org/oidc", auth_token_url="https://token.example.org/t",
                      key_set_url="https://keys.example.org/jwks", actor=operator, now=NOW, active=True)
    register_platform(session, issuer="https://pending.example.org", client_id="c2", name="Pending",
                      auth_login_url="https://pending.example.org/a", auth_token_url="https://pending.example.org/t",
                      key_set_url="https://pending.example.org/k", actor=operator, now=NOW)
    session.commit()
    ancestors = _frame_ancestors(client.get("/"))
    for origin in ("https://lms.example.org", "https://auth.example.org", "https://token.example.org",
                   "https://keys.example.org"):
        assert origin in ancestors
    assert "https://pending.example.org" not in ancestors  # not approved
    assert _form_action(client.get("/")) == ["'self'"]


def test_the_secretariat_adds_frame_origins_validated_and_audited(session, client, officer, csrf, registered):
    from vcollege.core.models import AuditEntry

    token = csrf(f"/lti/platforms/{registered.id}")
    response = client.post(f"/lti/platforms/{registered.id}/frame-origins", data={
        "csrf_token": token, "extra_frame_origins": "https://school.example.org\nhttps://Other.Example.org:8443/\n"})
    assert response.status_code == 302, response.get_data(as_text=True)
    session.refresh(registered)
    assert registered.extra_frame_origins == ["https://school.example.org", "https://other.example.org:8443"]
    entry = session.query(AuditEntry).filter_by(action="lti.frame_origins_changed").one()
    assert entry.detail == {"before": [], "after": registered.extra_frame_origins}
    ancestors = _frame_ancestors(client.get("/"))
    assert "https://school.example.org" in ancestors and "https://other.example.org:8443" in ancestors


@pytest.mark.parametrize("value", [
    "https://school.example.org/path",
    "https://*.example.org",
    "ftp://school.example.org",
    "school.example.org",
    "https://user@school.example.org",
    "https://school.example.org?x=1",
    "'unsafe-inline'",
])
def test_bad_frame_origins_are_refused_and_nothing_changes(session, client, officer, csrf, registered, value):
    from vcollege.core.models import AuditEntry

    token = csrf(f"/lti/platforms/{registered.id}")
    response = client.post(f"/lti/platforms/{registered.id}/frame-origins",
                           data={"csrf_token": token, "extra_frame_origins": f"https://ok.example.org\n{value}"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="extra_frame_origins-error"' in page and 'aria-invalid="true"' in page
    session.refresh(registered)
    assert registered.extra_frame_origins == []
    assert count(session, AuditEntry, AuditEntry.action == "lti.frame_origins_changed") == 0


def test_plain_http_origins_only_outside_production(session, registered, operator):
    from vcollege.errors import InvalidInput
    from vcollege.lti.platforms import set_frame_origins

    with pytest.raises(InvalidInput) as refused:
        set_frame_origins(session, registered, ["http://school.example.org"], allow_http=False, actor=operator, now=NOW)
    assert "extra_frame_origins" in refused.value.errors and registered.extra_frame_origins == []
    set_frame_origins(session, registered, ["http://school.example.org"], allow_http=True, actor=operator, now=NOW)
    assert registered.extra_frame_origins == ["http://school.example.org"]


def test_only_the_secretariat_sets_frame_origins(session, registered, make_person):
    from vcollege.core.models import Role
    from vcollege.core.permissions import Actor
    from vcollege.errors import Forbidden
    from vcollege.lti.platforms import set_frame_origins

    trainer = Actor.for_person(make_person(roles=(Role.TRAINER,)))
    with pytest.raises(Forbidden):
        set_frame_origins(session, registered, ["https://school.example.org"], allow_http=True, actor=trainer, now=NOW)


def test_a_launch_origin_is_suggested_and_accepted_with_one_click(session, client, driver, platform, registered,
                                                                  make_staff, csrf):
    from vcollege.core.models import AuditEntry, Role

    query = driver.auth_query()
    answer = platform.authorize(query)
    driver.client.post("/lti/launch", data=answer, headers={"Origin": "https://school.lms.example.org"})
    staff = client.application.test_client()
    with staff.session_transaction() as flask_session:
        flask_session.update({"_user_id": str(make_staff(Role.SECRETARIAT).id), "_fresh": True,
                              "vcollege_via": "password"})
    page = staff.get(f"/lti/platforms/{registered.id}")
    text = page.get_data(as_text=True)
    assert "https://school.lms.example.org" in text and "Allow https://school.lms.example.org" in text
    assert "school.lms.example.org" not in " ".join(_frame_ancestors(page))
    from tests.conftest import csrf_token

    token = csrf_token(staff, f"/lti/platforms/{registered.id}")
    forged = staff.post(f"/lti/platforms/{registered.id}/allow-origin",
                        data={"csrf_token": token, "origin": "https://evil.example.org"})
    assert forged.status_code == 422 and count(session, AuditEntry, AuditEntry.action == "lti.frame_origins_changed") == 0
    response = staff.post(f"/lti/platforms/{registered.id}/allow-origin",
                          data={"csrf_token": token, "origin": "https://school.lms.example.org"})
    assert response.status_code == 302
    session.refresh(registered)
    assert registered.extra_frame_origins == ["https://school.lms.example.org"]
    assert registered.last_unlisted_origin is None
    assert count(session, AuditEntry, AuditEntry.action == "lti.frame_origins_changed") == 1
    assert "https://school.lms.example.org" in _frame_ancestors(staff.get("/"))


def test_platform_origins_are_looked_up_once_per_page_and_never_for_json(client, registered, monkeypatch):
    from vcollege.lti import views

    calls = []
    real = views.frame_ancestors
    monkeypatch.setattr(views, "frame_ancestors", lambda session: calls.append(1) or real(session))
    page = client.get("/")
    assert registered.issuer in _frame_ancestors(page) and len(calls) == 1
    for path, headers in (("/lti/jwks", {}), ("/api/v1/courses", {"Accept": "*/*"}), ("/lti/canvas.json", {})):
        response = client.get(path, headers=headers)
        assert response.mimetype != "text/html", path
        assert registered.issuer not in " ".join(_frame_ancestors(response)), path
    assert len(calls) == 1
