"""The development LMS exists only in development and demo configurations."""

from __future__ import annotations

from tests.conftest import NOW, count


def test_production_has_no_development_lms(tmp_path):
    from vcollege import create_app

    app = create_app({"TESTING": True, "ENV": "production", "BASE_URL": "https://vcollege.example.org",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}", "SECRET_KEY": "x" * 32,
                      "LOG_LEVEL": "WARNING"})
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert not any(rule.startswith("/dev/") for rule in rules)
    assert "/lti/launch" in rules
    assert app.test_client().get("/dev/lms").status_code == 404


def test_development_serves_it(app):
    assert any(rule.rule == "/dev/lms/auth" for rule in app.url_map.iter_rules())


def test_demo_step_registers_it_only_in_development_and_demo(app, session):
    from vcollege.demo import DEMO_ACTOR, DEMO_STEPS, DemoContext
    from vcollege.lti.demo import ensure_dev_lms as step
    from vcollege.lti.models import LtiPlatform

    assert step in DEMO_STEPS
    messages = []
    config = {"ENV": "production", "BASE_URL": app.config["BASE_URL"]}
    ctx = DemoContext(session, NOW, DEMO_ACTOR, messages.append, {}, config)
    step(ctx)
    config["ENV"] = "development"
    assert count(session, LtiPlatform) == 0 and "not registered" in messages[0]
    step(ctx)
    step(ctx)  # idempotent
    platform = session.query(LtiPlatform).one()
    assert (platform.issuer, platform.status, platform.registered_via) == ("http://localhost/dev/lms", "active", "demo")
    assert [d.deployment_id for d in platform.deployments] == ["dev-deployment-1"]


def test_its_authorisation_endpoint_checks_the_tool_request(client, make_person):
    person = make_person()
    good = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
            "client_id": "vcollege-dev-tool", "redirect_uri": "http://localhost/lti/launch", "state": "s",
            "nonce": "n", "login_hint": f"{person.id}:Learner", "lti_message_hint": "deep-link"}
    assert client.get("/dev/lms/auth", query_string=good).status_code == 200
    assert client.get("/dev/lms/auth", query_string={**good, "redirect_uri": "https://evil.example.org/"}).status_code == 400
    assert client.get("/dev/lms/auth", query_string={**good, "client_id": "other"}).status_code == 400


def test_every_catalogue_course_is_a_ready_activity(client, session):
    from tests.catalogue.fixtures import sync_fixture_courses

    sync_fixture_courses(session)
    page = client.get("/dev/lms").get_data(as_text=True)
    for slug in ("cites-basics", "customs-checks", "ndf-workshop"):
        assert f'value="dev-course-{slug}"' in page
