"""Fixtures for the LTI tests: an independent platform on a real port, registered with the
tool, and a small driver that plays the browser between them through the test client."""

from __future__ import annotations

import html
import re

import pytest

from tests.conftest import NOW
from tests.lti.platform import INSTRUCTOR, LEARNER, TestPlatform, query_of


@pytest.fixture(autouse=True)
def catalogue(session):
    """The catalogue's fixture courses (cites-basics, customs-checks, ndf-workshop)."""
    from tests.catalogue.fixtures import sync_fixture_courses

    return sync_fixture_courses(session)


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    from vcollege.lti.tool import KEY_SET_REFETCHES, TOKENS

    TOKENS.clear()
    KEY_SET_REFETCHES.clear()
    yield
    TOKENS.clear()
    KEY_SET_REFETCHES.clear()


@pytest.fixture
def platform():
    lms = TestPlatform()
    lms.add_user("Learner-1", "Wanjiru Kamau", roles=[LEARNER], locale="fr-FR")
    lms.add_user("Teacher-1", "Carlos Mendoza", roles=[INSTRUCTOR], locale="es")
    lms.resource_link_message("link-1", link_id="Link-1", custom={"course": "cites-basics"})
    lms.deep_linking_message("dl-1")
    yield lms
    lms.stop()


@pytest.fixture
def registered(session, platform, operator):
    from vcollege.lti.platforms import register_platform

    registration = register_platform(
        session, issuer=platform.issuer, client_id=platform.client_id, deployment_ids=[platform.deployment_id],
        auth_login_url=platform.auth_url, auth_token_url=platform.token_url, key_set_url=platform.jwks_url,
        name="Test LMS", actor=operator, now=NOW, active=True,
    )
    session.commit()
    return registration


def opened(client, response) -> str:
    """Where a launch lands: it redirects to /lti/continue/<launch>, which opens the course
    when the browser kept the session (the test client does)."""
    assert response.status_code == 302 and response.location.startswith("/lti/continue/"), response.location
    follow = client.get(response.location)
    assert follow.status_code == 302, follow.get_data(as_text=True)
    return follow.location


class Driver:
    """Plays the browser: tool login → platform authorisation → tool launch."""

    def __init__(self, client, platform):
        self.client = client
        self.platform = platform

    def login(self, user="Learner-1", hint="link-1", method="get", **extra):
        params = self.platform.login_params(user, hint, **extra)
        if method == "post":
            return self.client.post("/lti/login", data=params)
        return self.client.get("/lti/login", query_string=params)

    def auth_query(self, user="Learner-1", hint="link-1", **extra) -> dict:
        response = self.login(user, hint, **extra)
        assert response.status_code == 302, response.get_data(as_text=True)
        assert response.location.startswith(self.platform.auth_url)
        return query_of(response.location)

    def post_launch(self, answer: dict, *, json: bool = False, **form):
        headers = {"Accept": "application/json"} if json else {}
        return self.client.post("/lti/launch", data={"id_token": answer["id_token"], "state": answer["state"], **form},
                                headers=headers)

    def launch(self, user="Learner-1", hint="link-1", *, json: bool = False, overrides=None, drop=(), key=None,
               headers=None, **extra):
        query = self.auth_query(user, hint, **extra)
        answer = self.platform.authorize(query, overrides=overrides, drop=drop, key=key, headers=headers)
        return self.post_launch(answer, json=json), answer

    def storage_login(self, user="Learner-1", hint="link-1") -> dict:
        """A login offering the platform's storage: what its page tells the browser."""
        response = self.login(user, hint, lti_storage_target="_parent")
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_data(as_text=True)
        data = {name: html.unescape(re.search(rf'data-{name}="([^"]*)"', page).group(1))
                for name in ("target", "origin", "key", "value", "next")}
        data["query"] = query_of(data["next"])
        data["page"] = page
        return data


@pytest.fixture
def driver(client, platform):
    return Driver(client, platform)


@pytest.fixture
def tool_jwks(session, platform, now):
    """Give the platform the tool's key set, as it would fetch it."""
    from vcollege.lti.keys import ensure_signing_key, jwks

    def refresh():
        ensure_signing_key(session, now=now)
        platform.tool_jwks = jwks(session, now=now)
        session.commit()
        return platform.tool_jwks

    refresh()
    return refresh
