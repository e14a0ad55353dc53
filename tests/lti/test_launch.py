"""OIDC login and resource-link launches from an independent platform, and every refusal."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import NOW, count
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
    ({"aud": "some-other-client"}, 401, "lti-wrong-audience"),
    ({"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "deployment-404"}, 400, "lti-unknown-deployment"),
    ({"exp": int(time.time()) - 600}, 401, "lti-token-expired"),
    ({"iat": int(time.time()) + 600, "exp": int(time.time()) + 900}, 401, "lti-token-not-yet-valid"),
    ({"aud": ["tool-client-1", "another-client"]}, 401, "lti-wrong-audience"),
    ({"aud": ["tool-client-1", "another-client"], "azp": "another-client"}, 401, "lti-wrong-audience"),
    ({"azp": "another-client"}, 401, "lti-wrong-audience"),
    ({"nonce": "a-nonce-we-never-issued"}, 401, "lti-nonce-mismatch"),
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


def _confirm(client, state, value, **headers):
    headers.setdefault("Accept", "application/json")
    return client.post("/lti/launch/confirm", data={"state": state, "value": value}, headers=headers)


SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}


def test_storage_path_confirms_once_with_the_value_from_the_platform_storage(app, session, registered, driver,
                                                                             platform):
    from vcollege.lti.models import LtiIdentity, LtiLaunch

    login = driver.storage_login()
    query = login["query"]
    assert (login["target"], login["origin"]) == ("_parent", platform.origin)
    assert login["key"] == f"vcollege_state_{query['state']}" and len(login["value"]) >= 32
    record = session.query(LtiLaunch).filter_by(state=query["state"]).one()
    assert record.storage_target == "_parent" and login["value"] not in (record.storage_secret or "")
    browser = app.test_client()  # the LMS frame: the tool's state cookie was not kept
    page = browser.post("/lti/launch", data=platform.authorize(query))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="lti-storage-launch"' in html and 'data-target="_parent"' in html
    assert f'data-origin="{platform.origin}"' in html and f'data-key="{login["key"]}"' in html
    assert login["value"] not in html  # read back from the platform's storage, never sent by the tool
    confirm_form = re.search(r'<form id="lti-confirm".*?</form>', html, re.S).group(0)
    assert "submit" not in confirm_form and "<button" not in confirm_form  # no way to post it without script
    assert "lti1p3_new_window=1" in re.search(r"<noscript>.*?</noscript>", html, re.S).group(0)
    assert count(session, LtiIdentity) == 0  # nothing applied before the browser confirms
    wrong = _confirm(browser, record.state, "guess", **SAME_ORIGIN)
    assert wrong.status_code == 400 and count(session, LtiIdentity) == 0
    done = _confirm(browser, record.state, login["value"], **SAME_ORIGIN, Accept="text/html")
    assert opened(browser, done) == "/learn/cites-basics"
    assert count(session, LtiIdentity) == 1
    again = _confirm(browser, record.state, login["value"], **SAME_ORIGIN)
    assert again.status_code == 400 and again.json["code"] == "lti-state-mismatch"


def test_storage_confirmation_before_the_launch_is_refused(app, session, registered, driver):
    """The login page shows the value; it confirms nothing until the platform's id_token
    has been verified."""
    from vcollege.lti.models import LtiIdentity

    login = driver.storage_login()
    response = _confirm(app.test_client(), login["query"]["state"], login["value"], **SAME_ORIGIN)
    assert response.status_code == 400 and response.json["code"] == "lti-state-mismatch"
    assert count(session, LtiIdentity) == 0


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
    {"Origin": "null"},
    {},  # neither header: refused
])
def test_a_storage_launch_cannot_be_confirmed_from_another_site(app, session, registered, driver, platform, headers):
    """Login CSRF through the storage path: an LMS user starts a login offering storage,
    posts the launch without cookies, and has another browser confirm it from another site.
    Refused, and nothing is written."""
    from vcollege.core.models import Person
    from vcollege.lti.models import LtiIdentity, LtiLaunch, LtiResourceLinkMember

    login = driver.storage_login()
    attacker = app.test_client()
    page = attacker.post("/lti/launch", data=platform.authorize(login["query"]))
    assert page.status_code == 200 and login["value"] not in page.get_data(as_text=True)
    before = _counts(session) | {"members": count(session, LtiResourceLinkMember)}
    victim = app.test_client()
    response = victim.post("/lti/launch/confirm", data={"state": login["query"]["state"], "value": login["value"]},
                           headers={"Accept": "application/json", **headers})
    assert response.status_code == 403 and response.json["code"] == "lti-cross-site-request"
    assert _counts(session) | {"members": count(session, LtiResourceLinkMember)} == before
    assert count(session, LtiIdentity) == 0 and count(session, Person, Person.name == "Wanjiru Kamau") == 0
    assert session.query(LtiLaunch).filter_by(state=login["query"]["state"]).one().storage_secret is not None
    with victim.session_transaction() as flask_session:
        assert "_user_id" not in flask_session  # nobody signed in


def test_a_cookie_launch_leaves_nothing_to_confirm(app, session, registered, driver, platform):
    from vcollege.lti.models import LtiLaunch

    login = driver.storage_login()  # the platform offered storage, but the browser kept the cookie
    response = driver.post_launch(platform.authorize(login["query"]))
    assert opened(driver.client, response) == "/learn/cites-basics"
    assert session.query(LtiLaunch).filter_by(state=login["query"]["state"]).one().storage_secret is None
    again = _confirm(app.test_client(), login["query"]["state"], login["value"], **SAME_ORIGIN)
    assert again.status_code == 400


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


def test_an_unlisted_origin_is_only_recorded_never_allowed(session, registered, driver, platform):
    """An LMS user cannot widen who may frame the tool: the origin a launch came from is
    information for the Secretariat (see test_frames.py), not an allowed frame ancestor."""
    registered.auth_token_url = "https://lms.example.org/token"  # so school.lms.example.org is of its domain
    session.commit()
    query = driver.auth_query()
    answer = platform.authorize(query)
    response = driver.client.post("/lti/launch", data={"id_token": answer["id_token"], "state": answer["state"]},
                                  headers={"Origin": "https://school.lms.example.org"})
    assert response.status_code == 302
    session.refresh(registered)
    assert registered.last_unlisted_origin == "https://school.lms.example.org"
    assert registered.extra_frame_origins == []
    page = driver.client.get("/")
    csp = page.headers["Content-Security-Policy"]
    assert "school.lms.example.org" not in csp
    assert platform.origin in csp.split("frame-ancestors")[1]
    assert "form-action 'self';" in csp  # no platform may receive our forms by default


def test_a_launch_from_an_allowed_origin_records_nothing(session, registered, driver, platform):
    query = driver.auth_query()
    answer = platform.authorize(query)
    driver.client.post("/lti/launch", data={"id_token": answer["id_token"], "state": answer["state"]},
                       headers={"Origin": platform.origin})
    session.refresh(registered)
    assert registered.last_unlisted_origin is None


def test_a_refused_launch_teaches_no_origin(session, registered, driver, platform):
    query = driver.auth_query()
    answer = platform.authorize(query, overrides={"nonce": "forged"})
    response = driver.client.post("/lti/launch", data={"id_token": answer["id_token"], "state": answer["state"]},
                                  headers={"Origin": "https://attacker.example.org"})
    assert response.status_code == 401
    session.refresh(registered)
    assert registered.last_unlisted_origin is None and registered.extra_frame_origins == []


def test_without_the_session_cookie_the_course_is_offered_in_a_new_window(app, session, registered, driver):
    response, _ = driver.launch()
    blocked = app.test_client()  # a browser that kept no cookie of the tool in the LMS frame
    page = blocked.get(response.location)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Open in a new window" in text and "lti1p3_new_window=1" in text
    assert blocked.get("/lti/continue/no-such-launch").status_code == 404


def test_an_instructor_opening_a_course_link_lands_on_its_learners(session, registered, driver):
    from vcollege.learning.models import Enrolment
    from vcollege.lti.models import LtiResourceLink

    response, _ = driver.launch("Teacher-1", "link-1")
    link = session.query(LtiResourceLink).one()
    assert opened(driver.client, response) == f"/lti/links/{link.id}/learners"
    assert count(session, Enrolment) == 0  # instructors are not enrolled as learners
    assert driver.client.get("/teach/cites-basics").status_code == 403  # no global trainer powers


@pytest.mark.parametrize("roles", [
    ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"],
    ["http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",
     "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Observer"],
    ["http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"],
    [],
])
def test_a_launch_without_a_learner_role_enrols_nobody(session, registered, driver, platform, roles):
    from vcollege.core.models import Role
    from vcollege.learning.models import Enrolment
    from vcollege.lti.models import LtiIdentity, LtiResourceLinkMember

    platform.add_user("Mentor-1", "Aiko Tanaka", roles=roles or ["placeholder"], locale="en")
    platform.users["Mentor-1"].roles = roles
    response, _ = driver.launch("Mentor-1", "link-1")
    assert response.status_code == 200, response.location
    assert "This course is for learners" in response.get_data(as_text=True)
    assert count(session, Enrolment) == 0
    person = session.query(LtiIdentity).filter_by(subject="Mentor-1").one().person
    assert Role.LEARNER not in person.role_names and Role.TRAINER not in person.role_names
    member = session.query(LtiResourceLinkMember).one()
    assert (member.learner, member.instructor) == (False, False)


def test_a_launch_keeps_the_language_the_person_chose(session, registered, driver, platform):
    from vcollege.core.people import update_person
    from vcollege.core.permissions import Actor
    from vcollege.lti.models import LtiIdentity

    driver.launch()  # fr-FR: a new person takes the launch language
    person = session.query(LtiIdentity).filter_by(subject="Learner-1").one().person
    assert person.preferred_language == "fr"
    update_person(session, person, actor=Actor.operator("tests"), now=NOW, preferred_language="es")
    session.commit()
    driver.launch()
    session.refresh(person)
    assert person.preferred_language == "es"  # the learner's own choice wins over the LMS locale
    person.preferred_language = None
    session.commit()
    driver.launch()
    session.refresh(person)
    assert person.preferred_language == "fr"  # none chosen: the launch locale fills it


def test_each_launch_records_the_roles_it_gave_on_the_link(session, registered, driver, platform):
    from tests.lti.platform import LEARNER
    from vcollege.core.models import Role
    from vcollege.lti.models import LtiIdentity, LtiResourceLinkMember

    driver.launch("Teacher-1", "link-1")
    member = session.query(LtiResourceLinkMember).one()
    assert (member.learner, member.instructor) == (False, True)
    platform.users["Teacher-1"].roles = [LEARNER]  # the LMS changed their role in this course
    driver.launch("Teacher-1", "link-1")
    session.refresh(member)
    assert (member.learner, member.instructor) == (True, False)
    person = session.query(LtiIdentity).filter_by(subject="Teacher-1").one().person
    assert person.role_names == {Role.TRAINER, Role.LEARNER}  # granted roles stay


def test_a_relaunch_after_a_trainers_withdrawal_says_so_and_keeps_it(session, registered, driver, make_staff):
    from vcollege.core.models import Role
    from vcollege.core.permissions import Actor
    from vcollege.learning.enrolments import withdraw
    from vcollege.learning.models import Enrolment, EnrolmentStatus

    response, _ = driver.launch()
    enrolment = session.query(Enrolment).one()
    withdraw(session, enrolment, reason="Left the authority", actor=Actor.for_person(make_staff(Role.TRAINER)), now=NOW)
    session.commit()
    again, _ = driver.launch()
    assert again.status_code == 409 and "ask your trainer" in again.get_data(as_text=True)
    session.refresh(enrolment)
    assert enrolment.status == EnrolmentStatus.WITHDRAWN
