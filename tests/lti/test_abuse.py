"""The unauthenticated LTI endpoints under abuse: rate limits, a registration that points at
the inside of the network, and tokens naming unknown keys."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NOW, count


def test_login_is_rate_limited_per_address(client):
    for _ in range(60):
        assert client.get("/lti/login", headers={"Accept": "application/json"}).status_code == 400
    limited = client.get("/lti/login", headers={"Accept": "application/json"})
    assert limited.status_code == 429
    other = client.get("/lti/login", headers={"Accept": "application/json"}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 400  # another address has its own allowance


def test_dynamic_registration_is_rate_limited_per_address(client):
    for _ in range(10):
        assert client.get("/lti/register", headers={"Accept": "application/json"}).status_code == 400
    assert client.get("/lti/register", headers={"Accept": "application/json"}).status_code == 429


# --- dynamic registration must not reach inside the network (production) -----------------

ISSUER = "https://lms.example.org"
CONFIGURATION = ISSUER + "/.well-known/openid-configuration"


class FakeResponse:
    def __init__(self, body, status=200, headers=None):
        self.body, self.status_code, self.headers = body, status, headers or {}

    @property
    def is_redirect(self):
        return self.status_code in (301, 302, 303, 307, 308)

    def raise_for_status(self):
        if self.status_code >= 400:
            import requests

            raise requests.HTTPError(f"{self.status_code}")

    def json(self):
        return self.body


class FakePlatformClient:
    """An https platform that answers the registration handshake, without any network."""

    def __init__(self, **config):
        self.config = {"issuer": ISSUER, "authorization_endpoint": ISSUER + "/auth", "token_endpoint": ISSUER + "/token",
                       "jwks_uri": ISSUER + "/jwks", "registration_endpoint": ISSUER + "/register", **config}
        self.calls: list[tuple[str, str]] = []
        self.redirect = False

    def get(self, url, **kwargs):
        self.calls.append(("GET", url))
        assert kwargs.get("allow_redirects") is False
        if self.redirect:
            return FakeResponse(None, 302, {"Location": "http://169.254.169.254/latest/meta-data/"})
        return FakeResponse(self.config)

    def post(self, url, **kwargs):
        self.calls.append(("POST", url))
        return FakeResponse({"client_id": "client-9", "https://purl.imsglobal.org/spec/lti-tool-configuration": {
            "deployment_id": "1"}})


def _resolving(monkeypatch, table: dict[str, str]):
    """Name resolution answers from `table` (host → address); unknown names do not resolve."""

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in table:
            raise socket.gaierror(f"unknown host {host}")
        family = socket.AF_INET6 if ":" in table[host] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (table[host], 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _register(session, client):
    from vcollege.lti.registration import ToolUrls, register_dynamically

    return register_dynamically(
        session, openid_configuration=CONFIGURATION, registration_token="t",
        urls=ToolUrls("https://college.example.org", "https://college.example.org/lti/login",
                      "https://college.example.org/lti/launch", "https://college.example.org/lti/jwks"),
        now=NOW, client=client, require_https=True, require_public=True)


@pytest.mark.parametrize("address", [
    "10.0.0.5", "172.16.3.4", "192.168.1.1", "127.0.0.1", "169.254.169.254", "0.0.0.0", "100.64.0.1",
    "224.0.0.1", "240.0.0.1", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.5",
])
def test_a_configuration_url_resolving_inside_the_network_is_refused(session, monkeypatch, address):
    from vcollege.lti.models import LtiPlatform
    from vcollege.lti.registration import RegistrationFailed

    _resolving(monkeypatch, {"lms.example.org": address})
    client = FakePlatformClient()
    with pytest.raises(RegistrationFailed) as refused:
        _register(session, client)
    assert "openid_configuration" in refused.value.errors
    assert client.calls == [] and count(session, LtiPlatform) == 0  # not even asked


def test_endpoints_resolving_inside_the_network_are_refused_before_the_registration_is_posted(session, monkeypatch):
    from vcollege.lti.models import LtiPlatform
    from vcollege.lti.registration import RegistrationFailed

    _resolving(monkeypatch, {"lms.example.org": "93.184.216.34", "keys.corp.example": "10.1.2.3"})
    client = FakePlatformClient(jwks_uri="https://keys.corp.example/jwks")
    with pytest.raises(RegistrationFailed) as refused:
        _register(session, client)
    assert "jwks_uri" in refused.value.errors
    assert [method for method, _ in client.calls] == ["GET"] and count(session, LtiPlatform) == 0


def test_an_unresolvable_host_and_a_redirect_are_refused(session, monkeypatch):
    from vcollege.lti.models import LtiPlatform
    from vcollege.lti.registration import RegistrationFailed

    _resolving(monkeypatch, {})
    with pytest.raises(RegistrationFailed):
        _register(session, FakePlatformClient())
    _resolving(monkeypatch, {"lms.example.org": "93.184.216.34"})
    client = FakePlatformClient()
    client.redirect = True
    with pytest.raises(RegistrationFailed) as refused:
        _register(session, client)
    assert "openid_configuration" in refused.value.errors and count(session, LtiPlatform) == 0


def test_a_public_https_platform_registers_in_production(session, monkeypatch):
    _resolving(monkeypatch, {"lms.example.org": "93.184.216.34"})
    client = FakePlatformClient()
    platform = _register(session, client)
    assert (platform.issuer, platform.client_id, platform.status) == (ISSUER, "client-9", "pending")
    assert client.calls == [("GET", CONFIGURATION), ("POST", ISSUER + "/register")]


def test_the_register_endpoint_applies_the_guard_in_production(app, session, client, monkeypatch):
    from vcollege.lti.models import LtiPlatform

    _resolving(monkeypatch, {"lms.example.org": "192.168.0.10"})
    app.config["ENV"] = "production"
    try:
        response = client.get("/lti/register", query_string={"openid_configuration": CONFIGURATION},
                              headers={"Accept": "application/json"})
    finally:
        app.config["ENV"] = "development"
    assert response.status_code == 400 and response.json["code"] == "lti-registration-failed"
    assert "openid_configuration" in response.json["errors"] and count(session, LtiPlatform) == 0


# --- unknown kids -----------------------------------------------------------------------------


def test_unknown_kids_refetch_the_key_set_at_most_once_a_minute(session, registered, driver, platform, monkeypatch):
    from tests.lti.platform import SigningKey
    from vcollege.lti.tool import KEY_SET_REFETCHES

    clock = [1000.0]
    monkeypatch.setattr(KEY_SET_REFETCHES, "clock", lambda: clock[0])
    assert driver.launch()[0].status_code == 302  # caches the key set
    assert platform.jwks_fetches == 1
    for _ in range(3):  # each refused launch is rolled back; the throttle is not
        response, _ = driver.launch(key=SigningKey.generate(), json=True)
        assert response.status_code == 401 and response.json["code"] == "lti-unknown-kid"
    assert platform.jwks_fetches == 2  # one re-fetch, not three
    clock[0] += 61
    response, _ = driver.launch(key=SigningKey.generate(), json=True)
    assert response.status_code == 401 and platform.jwks_fetches == 3


def test_a_rotated_key_still_works_right_after_an_unknown_kid(session, registered, driver, platform):
    from tests.lti.platform import SigningKey

    assert driver.launch()[0].status_code == 302
    platform.rotate_key()
    response, _ = driver.launch(key=SigningKey.generate(), json=True)  # re-fetches: the new key comes back
    assert response.status_code == 401 and platform.jwks_fetches == 2
    response, _ = driver.launch()  # signed with the new key, whose set the refused launch fetched
    assert response.status_code == 302 and platform.jwks_fetches == 2
