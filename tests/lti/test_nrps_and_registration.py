"""Rosters (NRPS) over several pages, and LTI Dynamic Registration."""

from __future__ import annotations

import pytest

from tests.conftest import NOW, count


def _members(n):
    return [{"user_id": f"User-{i}", "name": f"Member {i}", "email": f"m{i}@lms.example.org", "status": "Active",
             "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]} for i in range(1, n + 1)]


@pytest.fixture
def context(session, registered, driver):
    from vcollege.lti.models import LtiContext

    response, _ = driver.launch()
    assert response.status_code == 302
    return session.query(LtiContext).one()


def test_all_pages_of_a_membership_are_pulled(session, context, platform, tool_jwks):
    from vcollege.lti.nrps import fetch_members

    platform.members = _members(5)  # three pages of two; next URLs hold upper-case letters
    members = fetch_members(session, context, now=NOW)
    assert [m["user_id"] for m in members] == [f"User-{i}" for i in range(1, 6)]
    assert platform.token_requests == 1


def test_members_command_prints_the_roster(session, context, platform, tool_jwks, runner):
    platform.members = _members(3)
    result = runner.invoke(args=["lti", "members", context.context_id])
    assert result.exit_code == 0, result.output
    assert "User-1" in result.output and "User-3" in result.output and "3 member(s)" in result.output
    by_number = runner.invoke(args=["lti", "members", str(context.id)])
    assert "3 member(s)" in by_number.output


def test_members_of_an_unknown_context(runner):
    result = runner.invoke(args=["lti", "members", "no-such-context"])
    assert result.exit_code == 1 and "no-such-context" in result.output


def test_the_lms_refusing_the_roster_is_an_error(session, context, platform, runner):
    platform.tool_jwks = {"keys": []}  # the platform cannot verify our assertion
    result = runner.invoke(args=["lti", "members", context.context_id])
    assert result.exit_code == 1 and result.output.startswith("Error:") and "401" in result.output


def test_dynamic_registration_stores_a_pending_platform(session, client, platform):
    from vcollege.core.models import AuditEntry
    from vcollege.lti.models import LtiPlatform

    response = client.get("/lti/register", query_string={
        "openid_configuration": platform.origin + "/.well-known/openid-configuration",
        "registration_token": platform.registration_token})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "lti-registered" in response.get_data(as_text=True)
    sent = platform.registrations[0]
    assert sent["initiate_login_uri"] == "http://localhost/lti/login"
    assert sent["redirect_uris"] == ["http://localhost/lti/launch"]
    assert sent["jwks_uri"] == "http://localhost/lti/jwks"
    tool_config = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert tool_config["domain"] == "localhost"
    assert tool_config["messages"][0]["type"] == "LtiDeepLinkingRequest"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in sent["scope"]
    stored = session.query(LtiPlatform).one()
    assert (stored.issuer, stored.client_id, stored.status, stored.registered_via) == (
        platform.issuer, platform.client_id, "pending", "dynamic")
    assert [d.deployment_id for d in stored.deployments] == [platform.deployment_id]
    assert (stored.auth_login_url, stored.auth_token_url, stored.key_set_url) == (
        platform.auth_url, platform.token_url, platform.jwks_url)
    assert count(session, AuditEntry, AuditEntry.action == "lti.platform_registered") == 1


def test_launches_wait_for_the_secretariat_approval(session, client, platform, driver, operator):
    from vcollege.lti.models import LtiLaunch, LtiPlatform
    from vcollege.lti.platforms import approve_platform

    client.get("/lti/register", query_string={
        "openid_configuration": platform.origin + "/.well-known/openid-configuration",
        "registration_token": platform.registration_token})
    response = driver.login()
    assert response.status_code == 403 and "lti-platform-not-active" in response.get_data(as_text=True)
    assert count(session, LtiLaunch) == 0
    approve_platform(session, session.query(LtiPlatform).one(), actor=operator, now=NOW)
    response, _ = driver.launch()
    assert response.status_code == 302


@pytest.mark.parametrize("case, field", [
    ("bad-token", "registration_endpoint"),
    ("no-config", "openid_configuration"),
    ("foreign-issuer", "issuer"),
    ("plain-http-in-production", "openid_configuration"),
])
def test_dynamic_registration_refusals_write_nothing(session, app, client, platform, case, field):
    from vcollege.lti.models import LtiPlatform

    query = {"openid_configuration": platform.origin + "/.well-known/openid-configuration",
             "registration_token": platform.registration_token}
    if case == "bad-token":
        query["registration_token"] = "stolen"
    elif case == "no-config":
        query["openid_configuration"] = platform.origin + "/nothing-here"
    elif case == "foreign-issuer":
        platform.issuer = "https://elsewhere.example.org"
    elif case == "plain-http-in-production":
        app.config["ENV"] = "production"
    try:
        response = client.get("/lti/register", query_string=query, headers={"Accept": "application/json"})
    finally:
        app.config["ENV"] = "development"
    assert response.status_code == 400
    assert response.json["code"] == "lti-registration-failed" and field in response.json["errors"]
    assert count(session, LtiPlatform) == 0
