"""OIDC login and resource-link launches from an independent platform, and every refusal."""

from __future__ import annotations

import time

import pytest

from tests.conftest import count
from tests.lti.conftest import opened
from tests.lti.platform import INSTRUCTOR


def _counts(session):
    from vcollege.core.models import AuditEntry, Person
    from vcollege.lti.models import LtiContext, LtiIdentity, LtiLaunch, LtiResourceLink

    return {m.__name__: count(session, m) for m in (Person, AuditEntry, LtiIdentity, LtiContext, LtiResourceLink)} | {
        "consumed": count(session, LtiLaunch, LtiLaunch.consumed_at.is_not(None)),
        "launches": count(session, LtiLaunch),
    }


def test_learner_launch_creates_person_identity_context_and_link(session, registered, driver):
    from vcollege.core.models import Role
    from vcollege.lti.models import LtiContext, LtiIdentity, LtiLaunch, LtiResourceLink

    response, answer = driver.launch()
    assert response.status_code == 302, response.get_data(as_text=True)
    assert opened(driver.client, response) == "/learn/cites-basics"  # enrolled, in the player
    identity = session.query(LtiIdentity).one()
    assert (identity.issuer, identity.subject) == (registered.issuer, "Learner-1")
    person = identity.person
    assert person.name == "Wanjiru Kamau" and person.preferred_language == "fr"
    assert person.role_names == {Role.LEARNER}
    context = session.query(LtiContext).one()
    assert context.context_id == "Context-7" and context.memberships_url.endswith("/Memberships")
    link = session.query(LtiResourceLink).one()
    assert (link.resource_link_id, link.course_slug, link.context_id) == ("Link-1", "cites-basics", context.id)
    launch = session.query(LtiLaunch).one()
    assert launch.consumed_at is not None and launch.launch_data["sub"] == "Learner-1"
    assert launch.data_expires_at > launch.consumed_at
    # the launch data is not in the cookie session
    with driver.client.session_transaction() as flask_session:
        assert not any("lti1p3" in key for key in flask_session)
        assert flask_session["vcollege_via"] == f"lti:{registered.issuer}"


def test_second_launch_finds_the_same_person_by_subject_not_email(session, registered, driver, platform, make_person):
    from vcollege.core.models import Person

    make_person("Someone Else", email=platform.users["Learner-1"].email)  # same e-mail, not the same person
    driver.launch()
    platform.users["Learner-1"].name = "Wanjiru K."
    driver.launch()
    people = session.query(Person).filter(Person.email == platform.users["Learner-1"].email.lower()).all()
    assert sorted(p.name for p in people) == ["Someone Else", "Wanjiru K."]


def test_instructor_becomes_trainer_never_secretariat(session, registered, driver, platform):
    from vcollege.core.models import Role
    from vcollege.lti.models import LtiIdentity

    platform.users["Teacher-1"].roles = [
        INSTRUCTOR, "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    ]
    response, _ = driver.launch("Teacher-1")
    assert response.status_code == 302
    person = session.query(LtiIdentity).filter_by(subject="Teacher-1").one().person
    assert person.role_names == {Role.TRAINER}


@pytest.mark.parametrize("uris, expected", [
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], {"learner"}),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"], {"trainer"}),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"], {"trainer"}),
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor"], {"trainer"}),
    (["Instructor", "Learner"], {"trainer", "learner"}),
    (["http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"], set()),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator"], set()),
])
def test_role_mapping(uris, expected):
    from vcollege.lti.launches import map_roles

    assert {str(r) for r in map_roles(uris)} == expected


def test_login_by_post_works_too(registered, driver):
    response = driver.login(method="post")
    assert response.status_code == 302 and response.location.startswith(driver.platform.auth_url)


# --- refusals: each answers 4xx and writes nothing -----------------------------------------

def _refused(session, before, response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    if response.mimetype == "application/problem+json":
        assert response.json["code"] == code, response.json
    else:
        assert code in response.get_data(as_text=True)
    after = _counts(session)
    assert after == before, (before, after)


def test_login_refuses_unknown_issuer(session, registered, driver):
    before = _counts(session)
    response = driver.client.get("/lti/login", query_string=driver.platform.login_params(
        "Learner-1", "link-1", iss="https://unknown.example.org"), headers={"Accept": "application/json"})
    _refused(session, before, response, 400, "lti-unknown-issuer")


def test_login_refuses_unknown_client_id(session, registered, driver):
    before = _counts(session)
    response = driver.login(client_id="not-ours")
    _refused(session, before, response, 400, "lti-unknown-client")


def test_login_refuses_unknown_deployment(session, registered, driver):
    before = _counts(session)
    response = driver.login(lti_deployment_id="deployment-404")
    _refused(session, before, response, 400, "lti-unknown-deployment")


def test_one_issuer_may_hold_several_client_ids(session, registered, driver, platform, operator, now):
    from vcollege.lti.platforms import register_platform

    register_platform(session, issuer=platform.issuer, client_id="second-client", deployment_ids=["deployment-1"],
                      auth_login_url=platform.auth_url, auth_token_url=platform.token_url,
                      key_set_url=platform.jwks_url, actor=operator, now=now, active=True)
    response, _ = driver.launch()
    assert response.status_code == 302
    # without a client id the issuer is ambiguous
    before = _counts(session)
    params = platform.login_params("Learner-1", "link-1")
    params.pop("client_id")
    _refused(session, before, driver.client.get("/lti/login", query_string=params), 400, "lti-unknown-client")


@pytest.mark.parametrize("change, status, code", [
    ({"iss": "https://unknown.example.org"}, 400, "lti-unknown-issuer"),
    ({"aud": "some-other-client"}, 400, "lti-unknown-client"),
    ({"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "deployment-404"}, 400, "lti-unknown-deployment"),
    ({"exp": int(time.time()) - 600}, 401, "lti-token-expired"),
    ({"iat": int(time.time()) + 600, "exp": int(time.time()) + 900}, 401, "lti-token-not-yet-valid"),
    ({"aud": ["tool-client-1", "another-client"]}, 401, "lti-wrong-audience"),
    ({"aud": ["tool-client-1", "another-client"], "azp": "another-client"}, 400, "lti-unknown-client"),
    ({"azp": "another-client"}, 401, "lti-wrong-audience"),
    ({"nonce": "a-nonce-we-never-issued"}, 401, "lti-nonce-reused"),
    ({"https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiSubmissionReviewRequest"}, 400, "lti-wrong-message"),
    ({"https://purl.imsglobal.org/spec/lti/claim/version": "1.1"}, 400, "lti-wrong-message"),
    ({"https://purl.imsglobal.org/spec/lti/claim/resource_link": {"title": "no id"}}, 400, "lti-missing-claim"),
    ({"https://purl.imsglobal.org/spec/lti/claim/roles": None}, 400, "lti-missing-claim"),
])
def test_launch_refusals(session, registered, driver, change, status, code):
    before = _counts(session)
    query = driver.auth_query()
    before = _counts(session)  # the login wrote its record; the launch must write nothing more
    answer = driver.platform.authorize(query, overrides=change)
    if change.get("https://purl.imsglobal.org/spec/lti/claim/roles", 1) is None:
        answer = driver.platform.authorize(query, drop=("https://purl.imsglobal.org/spec/lti/claim/roles",))
    _refused(session, before, driver.post_launch(answer, json=True), status, code)


@pytest.mark.parametrize("claim, code", [
    ("exp", "lti-token-expired"),
    ("iat", "lti-missing-claim"),
    ("sub", "lti-missing-claim"),
    ("https://purl.imsglobal.org/spec/lti/claim/target_link_uri", "lti-missing-claim"),
])
def test_launch_refuses_missing_claims(session, registered, driver, claim, code):
    query = driver.auth_query()
    before = _counts(session)
    answer = driver.platform.authorize(query, drop=(claim,))
    response = driver.post_launch(answer, json=True)
    _refused(session, before, response, 401 if claim == "exp" else 400, code)


def test_launch_refuses_a_bad_signature(session, registered, driver, platform):
    from tests.lti.platform import SigningKey

    query = driver.auth_query()
    before = _counts(session)
    impostor = SigningKey.generate()
    impostor.kid = platform.keys[0].kid  # right kid, wrong key
    answer = platform.authorize(query, key=impostor)
    _refused(session, before, driver.post_launch(answer, json=True), 401, "lti-bad-signature")


def test_launch_refuses_an_unknown_kid_after_one_refetch(session, registered, driver, platform):
    from tests.lti.platform import SigningKey

    driver.launch()  # caches the key set
    fetches = platform.jwks_fetches
    query = driver.auth_query()
    before = _counts(session)
    answer = platform.authorize(query, key=SigningKey.generate())
    _refused(session, before, driver.post_launch(answer, json=True), 401, "lti-unknown-kid")
    assert platform.jwks_fetches == fetches + 1  # exactly one re-fetch


def test_launch_refuses_alg_none_and_hs256(session, registered, driver, platform):
    import jwt

    query = driver.auth_query()
    claims = platform.id_token_claims(user=platform.users["Learner-1"], nonce=query["nonce"], hint="link-1")
    before = _counts(session)
    forged = jwt.encode(claims, "a-shared-secret-of-at-least-32-bytes!", algorithm="HS256", headers={"kid": platform.keys[0].kid})
    response = driver.post_launch({"id_token": forged, "state": query["state"]}, json=True)
    _refused(session, before, response, 401, "lti-bad-signature")


def test_launch_refuses_a_state_that_does_not_match(session, registered, driver, platform):
    query = driver.auth_query()
    before = _counts(session)
    answer = platform.authorize(query)
    answer["state"] = "state-never-issued"
    _refused(session, before, driver.post_launch(answer, json=True), 400, "lti-state-mismatch")


def test_launch_refuses_without_the_state_cookie_and_offers_a_new_window(session, registered, driver, platform):
    query = driver.auth_query()
    driver.client.delete_cookie(f"lti_state_{query['state']}", path="/lti/")
    before = _counts(session)
    answer = platform.authorize(query)
    response = driver.post_launch(answer)
    _refused(session, before, response, 400, "lti-state-mismatch")
    page = response.get_data(as_text=True)
    assert "Open in a new window" in page and "lti1p3_new_window=1" in page


def test_replayed_id_token_is_refused(session, registered, driver):
    response, answer = driver.launch()
    assert response.status_code == 302
    before = _counts(session)
    replay = driver.post_launch(answer, json=True)
    _refused(session, before, replay, 401, "lti-nonce-reused")


def test_launch_from_a_pending_platform_is_refused_until_approved(session, registered, driver, operator, now):
    from vcollege.lti.models import PlatformStatus
    from vcollege.lti.platforms import approve_platform

    registered.status = PlatformStatus.PENDING
    session.flush()
    before = _counts(session)
    _refused(session, before, driver.login(), 403, "lti-platform-not-active")
    approve_platform(session, registered, actor=operator, now=now)
    response, _ = driver.launch()
    assert response.status_code == 302


def test_expired_login_is_refused(session, registered, driver, platform):
    import datetime as dt

    from vcollege.lti.models import LtiLaunch

    query = driver.auth_query()
    record = session.query(LtiLaunch).filter_by(state=query["state"]).one()
    record.expires_at = record.created_at - dt.timedelta(seconds=1)
    session.flush()
    before = _counts(session)
    _refused(session, before, driver.post_launch(platform.authorize(query), json=True), 400, "lti-state-mismatch")


def test_key_set_is_cached_and_refetched_once_when_the_platform_rotates(session, registered, driver, platform):
    driver.launch()
    driver.launch()
    assert platform.jwks_fetches == 1  # cached
    platform.rotate_key()
    response, _ = driver.launch()
    assert response.status_code == 302
    assert platform.jwks_fetches == 2  # re-fetched once on the unknown kid


def test_launch_without_course_shows_a_page(session, registered, driver, platform):
    platform.resource_link_message("bare", link_id="Link-9", custom={})
    response, _ = driver.launch("Teacher-1", "bare")
    assert response.status_code == 200
    # in the launch locale (the teacher's LMS speaks Spanish)
    assert "Todavía no hay ningún curso vinculado" in response.get_data(as_text=True)


def test_lti_endpoints_need_no_csrf_token(app, registered, driver):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response, _ = driver.launch()
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    assert response.status_code == 302


def test_storage_path_confirms_once_without_any_cookie(session, registered, driver, platform):
    import html as html_lib
    import re

    from tests.lti.platform import query_of
    from vcollege.lti.models import LtiIdentity, LtiLaunch

    login = driver.login(lti_storage_target="_parent")
    next_url = html_lib.unescape(re.search(r'data-next="([^"]+)"', login.get_data(as_text=True)).group(1))
    query = query_of(next_url)
    record = session.query(LtiLaunch).filter_by(state=query["state"]).one()
    assert record.storage_target == "_parent"
    driver.client.delete_cookie(f"lti_state_{query['state']}", path="/lti/")
    page = driver.post_launch(platform.authorize(query))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="lti-storage-launch"' in html and 'data-target="_parent"' in html
    assert f'data-origin="{platform.origin}"' in html
    assert count(session, LtiIdentity) == 0  # nothing applied before the browser confirms
    confirm = record.confirm_token
    wrong = driver.client.post("/lti/launch/confirm", data={"state": record.state, "confirm": "guess"},
                               headers={"Accept": "application/json"})
    assert wrong.status_code == 400 and count(session, LtiIdentity) == 0
    done = driver.client.post("/lti/launch/confirm", data={"state": record.state, "confirm": confirm})
    assert opened(driver.client, done) == "/learn/cites-basics"
    assert count(session, LtiIdentity) == 1
    again = driver.client.post("/lti/launch/confirm", data={"state": record.state, "confirm": confirm},
                               headers={"Accept": "application/json"})
    assert again.status_code == 400 and again.json["code"] == "lti-state-mismatch"


def test_login_with_storage_target_answers_the_storage_page(registered, driver, platform):
    response = driver.login(lti_storage_target="_parent")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="lti-storage-login"' in html and platform.auth_url in html
    assert response.headers["Set-Cookie"].startswith("lti_state_")


def test_state_cookie_attributes_follow_the_cookie_settings(app, registered, driver):
    plain = driver.login().headers.get("Set-Cookie")
    assert "HttpOnly" in plain and "Path=/lti/" in plain and "SameSite" not in plain and "Secure" not in plain
    app.config.update(SESSION_COOKIE_SECURE=True)
    try:
        secure = driver.login().headers.get("Set-Cookie")
    finally:
        app.config.update(SESSION_COOKIE_SECURE=False)
    assert "Secure" in secure and "SameSite=None" in secure and "Partitioned" in secure


def test_prune_forgets_old_logins_and_launch_data(session, registered, driver, now):
    import datetime as dt

    from vcollege.lti.launches import prune_launches
    from vcollege.lti.models import LtiLaunch

    driver.launch()
    driver.auth_query()  # a login never completed
    assert count(session, LtiLaunch) == 2
    assert prune_launches(session, now=dt.datetime.now(dt.UTC)) == 0
    assert prune_launches(session, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)) == 2


def test_the_lms_page_that_launched_may_frame_the_tool(session, registered, driver, platform):
    query = driver.auth_query()
    answer = platform.authorize(query)
    response = driver.client.post("/lti/launch", data={"id_token": answer["id_token"], "state": answer["state"]},
                                  headers={"Origin": "https://school.lms.example.org"})
    assert response.status_code == 302
    assert registered.frame_origins == ["https://school.lms.example.org"]
    csp = driver.client.get("/").headers["Content-Security-Policy"]
    assert "https://school.lms.example.org" in csp.split("frame-ancestors")[1]


def test_a_refused_launch_teaches_no_origin(session, registered, driver, platform):
    query = driver.auth_query()
    answer = platform.authorize(query, overrides={"nonce": "forged"})
    response = driver.client.post("/lti/launch", data={"id_token": answer["id_token"], "state": answer["state"]},
                                  headers={"Origin": "https://attacker.example.org"})
    assert response.status_code == 401
    assert registered.frame_origins == []


def test_without_the_session_cookie_the_course_is_offered_in_a_new_window(app, session, registered, driver):
    response, _ = driver.launch()
    blocked = app.test_client()  # a browser that kept no cookie of the tool in the LMS frame
    page = blocked.get(response.location)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Open in a new window" in text and "lti1p3_new_window=1" in text
    assert blocked.get("/lti/continue/no-such-launch").status_code == 404


def test_an_instructor_opening_a_course_link_lands_on_the_teaching_page(session, registered, driver):
    from vcollege.learning.models import Enrolment

    response, _ = driver.launch("Teacher-1", "link-1")
    assert opened(driver.client, response) == "/teach/cites-basics"
    assert count(session, Enrolment) == 0  # instructors are not enrolled as learners
