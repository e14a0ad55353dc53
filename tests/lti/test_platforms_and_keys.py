"""Platform registrations (service, CLI, Secretariat pages) and the tool's keys."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest

from tests.conftest import NOW, count

ADD = ["lti", "platform", "add", "--issuer", "https://moodle.example.org", "--client-id", "abc123",
       "--deployment-id", "1", "--deployment-id", "2",
       "--auth-login-url", "https://moodle.example.org/mod/lti/auth.php",
       "--auth-token-url", "https://moodle.example.org/mod/lti/token.php",
       "--key-set-url", "https://moodle.example.org/mod/lti/certs.php"]


def test_cli_adds_lists_shows_and_removes_a_platform(session, runner):
    from vcollege.core.models import AuditEntry
    from vcollege.lti.models import LtiDeployment, LtiPlatform

    result = runner.invoke(args=ADD)
    assert result.exit_code == 0, result.output
    platform = session.query(LtiPlatform).one()
    assert platform.status == "active" and [d.deployment_id for d in platform.deployments] == ["1", "2"]
    assert count(session, AuditEntry, AuditEntry.action == "lti.platform_registered") == 1
    assert count(session, AuditEntry, AuditEntry.action == "lti.platform_approved") == 1
    listed = runner.invoke(args=["lti", "platform", "list"])
    assert "https://moodle.example.org" in listed.output and "1,2" in listed.output
    shown = runner.invoke(args=["lti", "platform", "show", str(platform.id)])
    assert "mod/lti/certs.php" in shown.output
    # the same issuer may have a second client id, not the same one twice
    again = runner.invoke(args=ADD)
    assert again.exit_code == 1 and again.output.startswith("Error:") and "client" in again.output
    second = runner.invoke(args=[*ADD[:6], "other-client", *ADD[7:]])
    assert second.exit_code == 0, second.output
    removed = runner.invoke(args=["lti", "platform", "remove", str(platform.id), "--yes"])
    assert removed.exit_code == 0
    assert count(session, LtiPlatform) == 1 and count(session, LtiDeployment) == 2


def test_cli_refuses_bad_urls_and_writes_nothing(session, runner):
    from vcollege.lti.models import LtiPlatform

    result = runner.invoke(args=[*ADD[:-1], "not-a-url"])
    assert result.exit_code == 1
    assert "key_set_url" in result.output
    assert count(session, LtiPlatform) == 0


def test_service_refuses_duplicate_and_missing_fields(session, operator):
    from vcollege.errors import Conflict, InvalidInput
    from vcollege.lti.models import LtiPlatform
    from vcollege.lti.platforms import register_platform

    fields = dict(issuer="https://lms.example.org", client_id="c1", auth_login_url="https://lms.example.org/a",
                  auth_token_url="https://lms.example.org/t", key_set_url="https://lms.example.org/k")
    register_platform(session, **fields, actor=operator, now=NOW)
    with pytest.raises(Conflict) as conflict:
        register_platform(session, **fields, actor=operator, now=NOW)
    assert "client_id" in conflict.value.errors
    with pytest.raises(InvalidInput) as invalid:
        register_platform(session, **{**fields, "client_id": "c2", "auth_token_url": "ftp://x"}, actor=operator, now=NOW)
    assert "auth_token_url" in invalid.value.errors
    assert count(session, LtiPlatform) == 1


def test_only_lti_managers_approve(session, operator, make_staff):
    from vcollege.core.models import Role
    from vcollege.core.permissions import Actor
    from vcollege.errors import Forbidden
    from vcollege.lti.platforms import approve_platform, register_platform

    platform = register_platform(session, issuer="https://lms.example.org", client_id="c1",
                                 auth_login_url="https://lms.example.org/a", auth_token_url="https://lms.example.org/t",
                                 key_set_url="https://lms.example.org/k", actor=operator, now=NOW)
    trainer = Actor.for_person(make_staff(Role.TRAINER))
    with pytest.raises(Forbidden):
        approve_platform(session, platform, actor=trainer, now=NOW)
    assert platform.status == "pending"


def test_secretariat_registers_approves_and_disables_on_pages(session, client, sign_in, make_staff, csrf):
    from vcollege.core.models import AuditEntry, Role
    from vcollege.lti.models import LtiPlatform

    sign_in(make_staff(Role.SECRETARIAT))
    token = csrf("/lti/platforms")
    bad = client.post("/lti/platforms", data={"csrf_token": token, "issuer": "https://lms.example.org", "client_id": ""})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    assert count(session, LtiPlatform) == 0
    response = client.post("/lti/platforms", data={
        "csrf_token": token, "name": "Kenya LMS", "issuer": "https://lms.example.org", "client_id": "kws",
        "deployment_ids": "d1\nd2", "auth_login_url": "https://lms.example.org/auth",
        "auth_token_url": "https://lms.example.org/token", "key_set_url": "https://lms.example.org/jwks"})
    assert response.status_code == 302
    platform = session.query(LtiPlatform).one()
    assert platform.status == "pending"
    assert client.post(f"/lti/platforms/{platform.id}/approve", data={"csrf_token": token}).status_code == 302
    assert platform.status == "active" and platform.approved_by_id is not None
    # the approved platform may frame the tool and receive its forms
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://lms.example.org" in csp
    client.post(f"/lti/platforms/{platform.id}/deployments", data={"csrf_token": token, "deployment_id": "d3"})
    assert [d.deployment_id for d in platform.deployments] == ["d1", "d2", "d3"]
    client.post(f"/lti/platforms/{platform.id}/disable", data={"csrf_token": token})
    assert platform.status == "disabled"
    assert "https://lms.example.org" not in client.get("/").headers["Content-Security-Policy"]
    actions = {a for (a,) in session.query(AuditEntry.action).filter(AuditEntry.action.like("lti.%"))}
    assert actions == {"lti.platform_registered", "lti.platform_approved", "lti.deployment_added", "lti.platform_disabled"}


def test_trainers_cannot_manage_platforms(client, sign_in, make_staff):
    from vcollege.core.models import Role

    sign_in(make_staff(Role.TRAINER))
    assert client.get("/lti/platforms").status_code == 403
    assert client.get("/lti/tool-configuration").status_code == 403


def test_tool_configuration_page_and_canvas_json(client, sign_in, make_staff):
    from vcollege.core.models import Role

    sign_in(make_staff(Role.SECRETARIAT))
    page = client.get("/lti/tool-configuration").get_data(as_text=True)
    for url in ("http://localhost/lti/login", "http://localhost/lti/launch", "http://localhost/lti/jwks",
                "http://localhost/lti/register"):
        assert url in page
    canvas = client.get("/lti/canvas.json").json
    assert canvas["oidc_initiation_url"] == "http://localhost/lti/login"
    assert canvas["public_jwk_url"] == "http://localhost/lti/jwks"
    assert any(p["message_type"] == "LtiDeepLinkingRequest" for p in canvas["extensions"][0]["settings"]["placements"])


def test_jwks_publishes_the_signing_key(client):
    keys = client.get("/lti/jwks").json["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig"
    assert "d" not in keys[0]  # never the private half


def test_rotation_keeps_the_old_key_published_until_its_tokens_expire(session, runner, now):
    from vcollege.core.keys import prune_expired_keys
    from vcollege.core.models import AuditEntry
    from vcollege.lti.keys import (
        KEY_OVERLAP,
        ensure_signing_key,
        jwks,
        signing_key,
    )

    old = ensure_signing_key(session, now=now)
    token = jwt.encode({"iss": "tool", "exp": 2_000_000_000}, old.private_pem, algorithm="RS256",
                       headers={"kid": old.kid})
    result = runner.invoke(args=["lti", "keys", "rotate"])
    assert result.exit_code == 0, result.output
    new = signing_key(session)
    assert new.kid != old.kid
    published = jwks(session, now=now)
    assert {k["kid"] for k in published["keys"]} == {old.kid, new.kid}
    # a platform holding our JWKS still verifies a token signed before the rotation, and new ones
    for signed, _key in ((token, old), (jwt.encode({"iss": "tool"}, new.private_pem, algorithm="RS256",
                                                  headers={"kid": new.kid}), new)):
        kid = jwt.get_unverified_header(signed)["kid"]
        jwk = next(k for k in published["keys"] if k["kid"] == kid)
        assert jwt.decode(signed, jwt.PyJWK(jwk).key, algorithms=["RS256"], options={"verify_exp": False})["iss"] == "tool"
    assert count(session, AuditEntry, AuditEntry.action == "keys.rotated") == 1
    later = dt.datetime.now(dt.UTC) + KEY_OVERLAP + dt.timedelta(seconds=1)
    assert {k["kid"] for k in jwks(session, now=later)["keys"]} == {new.kid}
    assert prune_expired_keys(session, later) == 1


def test_rotation_job_rotates_old_keys_only(session, now, app):
    from vcollege.lti.keys import ensure_signing_key, rotate_keys_job, signing_key

    key = ensure_signing_key(session, now=now - dt.timedelta(days=10))
    assert "kept" in rotate_keys_job(session, now, app.config)
    assert signing_key(session).kid == key.kid
    assert "rotated" in rotate_keys_job(session, now + dt.timedelta(days=90), app.config)
    assert signing_key(session).kid != key.kid


def test_lti_jobs_are_scheduled():
    from vcollege.jobs import SCHEDULE

    ids = {job.id for job in SCHEDULE}
    assert {"lti-drain-ags-outbox", "lti-rotate-keys", "lti-prune-launches"} <= ids
