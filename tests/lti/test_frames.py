"""Who may frame the tool: the registered platforms' own origins and those the Secretariat
types in; the origin a launch came from is shown as information only (and recorded only
when it is of the platform's own domain), never allowed with a click."""

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


def _staff_client(client, make_staff):
    from vcollege.core.models import Role

    staff = client.application.test_client()
    with staff.session_transaction() as flask_session:
        flask_session.update({"_user_id": str(make_staff(Role.SECRETARIAT).id), "_fresh": True,
                              "vcollege_via": "password"})
    return staff


def _launch_from(driver, platform, origin):
    answer = platform.authorize(driver.auth_query())
    response = driver.client.post("/lti/launch", data={"id_token": answer["id_token"], "state": answer["state"]},
                                  headers={"Origin": origin})
    assert response.status_code == 302, response.get_data(as_text=True)


def _no_allow_control(text: str) -> None:
    assert "allow-origin" not in text and 'name="origin"' not in text
    assert ">Allow" not in text and "Allow https" not in text


def test_an_origin_outside_the_platforms_domains_is_not_recorded_nor_offered(session, client, driver, platform,
                                                                           registered, make_staff, csrf):
    """Review D7: any LMS user can send any Origin with a valid launch."""
    from tests.conftest import csrf_token
    from vcollege.core.models import AuditEntry

    _launch_from(driver, platform, "https://evil.example")
    session.refresh(registered)
    assert registered.last_unlisted_origin is None and registered.last_unlisted_origin_at is None
    staff = _staff_client(client, make_staff)
    text = staff.get(f"/lti/platforms/{registered.id}").get_data(as_text=True)
    assert "evil.example" not in text and 'id="unlisted-origin"' not in text
    _no_allow_control(text)
    # and the one-click endpoint is gone: posting to it changes nothing
    token = csrf_token(staff, f"/lti/platforms/{registered.id}")
    forged = staff.post(f"/lti/platforms/{registered.id}/allow-origin",
                        data={"csrf_token": token, "origin": "https://evil.example"})
    assert forged.status_code == 422
    session.refresh(registered)
    assert registered.extra_frame_origins == []
    assert count(session, AuditEntry, AuditEntry.action == "lti.frame_origins_changed") == 0
    assert "evil.example" not in " ".join(_frame_ancestors(staff.get("/")))


def test_a_subdomain_origin_is_shown_as_information_only(session, client, driver, platform, registered,
                                                         make_staff):
    from tests.conftest import csrf_token
    from vcollege.core.models import AuditEntry

    registered.auth_token_url = "https://lms.example.org/login/oauth2/token"  # a registered host with a name
    session.commit()
    _launch_from(driver, platform, "https://school.lms.example.org")
    session.refresh(registered)
    assert registered.last_unlisted_origin == "https://school.lms.example.org"
    staff = _staff_client(client, make_staff)
    page = staff.get(f"/lti/platforms/{registered.id}")
    text = page.get_data(as_text=True)
    notice = text[text.index('id="unlisted-origin"'):]
    notice = notice[:notice.index("</div>")]
    assert "https://school.lms.example.org" in notice
    assert "every page of this site" in notice and "the Secretariat's pages included" in notice
    assert "<form" not in notice and "<button" not in notice
    _no_allow_control(text)
    textarea = text[text.index('<textarea id="extra_frame_origins"'):text.index("</textarea>")]
    assert "school.lms.example.org" not in textarea  # not even filled in for the Secretariat
    assert "school.lms.example.org" not in " ".join(_frame_ancestors(page))
    assert count(session, AuditEntry, AuditEntry.action == "lti.frame_origins_changed") == 0
    # only typing it into the field allows it, audited
    token = csrf_token(staff, f"/lti/platforms/{registered.id}")
    response = staff.post(f"/lti/platforms/{registered.id}/frame-origins",
                          data={"csrf_token": token, "extra_frame_origins": "https://school.lms.example.org"})
    assert response.status_code == 302
    session.refresh(registered)
    assert registered.extra_frame_origins == ["https://school.lms.example.org"]
    assert registered.last_unlisted_origin is None
    entry = session.query(AuditEntry).filter_by(action="lti.frame_origins_changed").one()
    assert entry.detail == {"before": [], "after": ["https://school.lms.example.org"]}
    assert "https://school.lms.example.org" in _frame_ancestors(staff.get("/"))


@pytest.mark.parametrize("origin, recorded", [
    ("https://school.lms.example.org", True),  # a subdomain of the issuer's host
    ("https://a.b.keys.example.org:8443", True),  # a subdomain of the key set's host
    ("https://example.org", True),  # the registrable domain of the registered hosts
    ("https://other.example.org", False),  # a sibling: neither
    ("https://evil.example", False),
    ("https://lms.example.org.evil.example", False),
    ("https://evillms.example.org", False),
    ("https://org", False),  # a public suffix
    ("https://127.0.0.1", False),
    ("not an origin", False),
])
def test_only_origins_of_the_platforms_own_domain_are_recorded(operator, session, origin, recorded):
    from vcollege.lti.platforms import note_launch_origin, register_platform, suggested_origin

    found = register_platform(session, issuer="https://lms.example.org", client_id="c1", name="LMS",
                              auth_login_url="https://lms.example.org/auth", auth_token_url="https://lms.example.org/t",
                              key_set_url="https://keys.example.org/jwks", actor=operator, now=NOW, active=True)
    assert note_launch_origin(found, origin, now=NOW) is recorded
    assert (found.last_unlisted_origin is not None) is recorded
    assert (suggested_origin(found) is not None) is recorded


def test_registrable_domains_follow_the_public_suffix_list(operator, session):
    from vcollege.lti.platforms import note_launch_origin, register_platform

    found = register_platform(session, issuer="https://canvas.school.ac.uk", client_id="c1", name="LMS",
                              auth_login_url="https://sso.tenant.github.io/auth", auth_token_url="https://canvas.school.ac.uk/t",
                              key_set_url="https://canvas.school.ac.uk/jwks", actor=operator, now=NOW, active=True)
    assert note_launch_origin(found, "https://ac.uk", now=NOW) is False  # a public suffix, not the school's
    assert note_launch_origin(found, "https://github.io", now=NOW) is False  # a private suffix counts as public
    assert note_launch_origin(found, "https://tenant.github.io", now=NOW) is True
    assert note_launch_origin(found, "https://school.ac.uk", now=NOW) is True


def test_a_suggestion_recorded_before_is_not_shown_when_it_is_not_of_the_platforms_domain(
        session, client, registered, make_staff):
    registered.last_unlisted_origin, registered.last_unlisted_origin_at = "https://evil.example", NOW
    session.commit()
    text = _staff_client(client, make_staff).get(f"/lti/platforms/{registered.id}").get_data(as_text=True)
    assert "evil.example" not in text and 'id="unlisted-origin"' not in text


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
