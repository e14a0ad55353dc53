"""Deep linking: an instructor chooses catalogue courses; the platform receives signed items."""

from __future__ import annotations

import re

import jwt
import requests

from tests.conftest import count
from tests.lti.conftest import opened


def _start(driver, user="Teacher-1", hint="dl-1"):
    response, _ = driver.launch(user, hint)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "/lti/deep-link/" in response.location
    return response.location


def test_instructor_picks_courses_and_the_platform_gets_signed_items(session, registered, driver, platform, tool_jwks):
    page_url = _start(driver)
    page = driver.client.get(page_url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # the teacher's LMS speaks Spanish: titles in Spanish where the course has one, else English
    assert "Conceptos básicos de la CITES" in text and "Checking CITES documents at the border" in text
    filtered = driver.client.get(page_url, query_string={"language": "es", "competency": "non_detriment_findings"})
    text = filtered.get_data(as_text=True)
    assert 'value="ndf-workshop"' in text and 'value="cites-basics"' not in text

    answer = driver.client.post(page_url, data={"course": ["cites-basics", "ndf-workshop"]})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert f'action="{platform.origin}/DeepLinkReturn"' in html
    assert platform.origin in answer.headers["Content-Security-Policy"].split("form-action")[1].split(";")[0]
    token = re.search(r'name="JWT" value="([^"]+)"', html).group(1)

    # verified with the tool's published key set, as the platform does
    published = driver.client.get("/lti/jwks").json
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in published["keys"] if k["kid"] == kid)).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=platform.issuer)
    assert claims["iss"] == platform.client_id
    assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == "LtiDeepLinkingResponse"
    assert claims["https://purl.imsglobal.org/spec/lti/claim/version"] == "1.3.0"
    assert claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] == platform.deployment_id
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-Data-1"
    items = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert [i["custom"] for i in items] == [{"course": "cites-basics"}, {"course": "ndf-workshop"}]
    titles = ("Conceptos básicos de la CITES", "Taller sobre dictámenes de extracción no perjudicial")
    for item, slug, title in zip(items, ("cites-basics", "ndf-workshop"), titles, strict=True):
        assert item["type"] == "ltiResourceLink" and item["url"] == "http://localhost/lti/launch"
        assert item["title"] == title
        assert item["lineItem"] == {"scoreMaximum": 100, "label": title, "resourceId": slug}
    # the independent platform accepts it
    posted = requests.post(f"{platform.origin}/DeepLinkReturn", data={"JWT": token}, timeout=10)
    assert posted.status_code == 200 and platform.deep_link_responses[0]["iss"] == platform.client_id
    # answered once
    assert driver.client.post(page_url, data={"course": ["ndf-workshop"]}).status_code == 404


def test_a_launch_of_a_linked_item_opens_its_course(session, registered, driver, platform):
    from vcollege.lti.models import LtiResourceLink

    platform.resource_link_message("linked", link_id="Link-From-DL", custom={"course": "cites-basics"})
    response, _ = driver.launch("Learner-1", "linked")
    assert opened(driver.client, response) == "/learn/cites-basics"
    assert session.query(LtiResourceLink).filter_by(resource_link_id="Link-From-DL").one().course_slug == "cites-basics"


def test_a_restricted_course_tells_an_unknown_official_why(session, registered, driver, platform):
    """ndf-workshop is for officials of CITES authorities: an LMS learner with no Party or
    agency on record is told so; the launch itself (person, link) is kept."""
    from vcollege.learning.models import Enrolment
    from vcollege.lti.models import LtiIdentity, LtiResourceLink

    platform.resource_link_message("restricted", link_id="Link-R", custom={"course": "ndf-workshop"})
    response, _ = driver.launch("Learner-1", "restricted")
    assert response.status_code == 403
    assert "restricted to officials" in response.get_data(as_text=True)
    assert count(session, Enrolment) == 0
    assert count(session, LtiIdentity) == 1 and count(session, LtiResourceLink) == 1


def test_choosing_nothing_or_an_unknown_course_is_refused(session, registered, driver):
    page_url = _start(driver)
    nothing = driver.client.post(page_url, data={})
    assert nothing.status_code == 422 and "Choose at least one course" in nothing.get_data(as_text=True)
    unknown = driver.client.post(page_url, data={"course": "no-such-course"})
    assert unknown.status_code == 422
    assert driver.client.post(page_url, data={"course": "ndf-workshop"}).status_code == 200  # still answerable


def test_one_course_only_when_the_platform_accepts_one(session, registered, driver, platform):
    platform.deep_linking_message("single", accept_multiple=False, data=None)
    page_url = _start(driver, hint="single")
    assert 'type="radio"' in driver.client.get(page_url).get_data(as_text=True)
    assert driver.client.post(page_url, data={"course": ["ndf-workshop", "customs-checks"]}).status_code == 422
    answer = driver.client.post(page_url, data={"course": "ndf-workshop"})
    token = re.search(r'name="JWT" value="([^"]+)"', answer.get_data(as_text=True)).group(1)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert "https://purl.imsglobal.org/spec/lti-dl/claim/data" not in claims


def test_a_learner_cannot_answer_a_deep_linking_request(session, registered, driver):
    page_url = _start(driver, user="Learner-1")
    assert driver.client.get(page_url).status_code == 403


def test_deep_linking_without_ltiResourceLink_is_refused(session, registered, driver, platform):
    from vcollege.core.models import Person
    from vcollege.lti.models import LtiLaunch

    platform.deep_linking_message("links-only", accept_types=("link", "html"))
    query = driver.auth_query("Teacher-1", "links-only")
    people, consumed = count(session, Person), count(session, LtiLaunch, LtiLaunch.consumed_at.is_not(None))
    response = driver.post_launch(platform.authorize(query), json=True)
    assert response.status_code == 400 and response.json["code"] == "lti-wrong-message"
    assert "accept_types" in response.json["errors"]
    assert count(session, Person) == people
    assert count(session, LtiLaunch, LtiLaunch.consumed_at.is_not(None)) == consumed


def test_unknown_or_expired_launch_id_is_not_found(client):
    assert client.get("/lti/deep-link/not-a-launch").status_code == 404


def test_tool_key_rotation_seen_from_the_platform(session, registered, driver, platform, tool_jwks, runner):
    """A response signed before the rotation still verifies; service calls after it use the new key."""
    from vcollege.lti import ags, keys
    from vcollege.lti.nrps import fetch_members

    page_url = _start(driver)
    html = driver.client.post(page_url, data={"course": "ndf-workshop"}).get_data(as_text=True)
    old_token = re.search(r'name="JWT" value="([^"]+)"', html).group(1)
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    assert runner.invoke(args=["lti", "keys", "rotate"]).exit_code == 0
    new_kid = keys.signing_key(session).kid
    assert new_kid != old_kid
    platform.tool_jwks = driver.client.get("/lti/jwks").json  # the platform refreshes our key set
    assert {k["kid"] for k in platform.tool_jwks["keys"]} == {old_kid, new_kid}
    posted = requests.post(f"{platform.origin}/DeepLinkReturn", data={"JWT": old_token}, timeout=10)
    assert posted.status_code == 200
    # the next client assertion is signed with the new key, and the platform accepts it
    from vcollege.lti.models import LtiContext

    driver.launch()
    members = fetch_members(session, session.query(LtiContext).one(), now=ags.dt.datetime.now(ags.dt.UTC))
    assert members == [] and platform.assertion_kids == [new_kid]


def test_the_catalogue_is_read_once_per_deep_linking_request(session, registered, driver, platform, tool_jwks,
                                                             monkeypatch):
    from vcollege.lti import deep_linking

    page_url = _start(driver)
    real, calls = deep_linking.list_courses, []
    monkeypatch.setattr(deep_linking, "list_courses", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert driver.client.get(page_url, query_string={"language": "es"}).status_code == 200
    assert len(calls) == 1
    assert driver.client.post(page_url, data={"course": ["no-such-course"]}).status_code == 422
    assert len(calls) == 2
    assert driver.client.post(page_url, data={"course": ["cites-basics"]}).status_code == 200
    assert len(calls) == 3
