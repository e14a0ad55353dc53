"""Learning: what the player costs a learner — the course page, a module, a graded quiz, and
the whole course up to its completion (certificate, badge, score queued for the LMS)."""

from __future__ import annotations

import datetime as dt

from bench.harness import Comparison, bench_app, compare


def run() -> list[Comparison]:
    from vcollege.catalogue.service import get_version, sync_catalogue
    from vcollege.config import PROJECT_ROOT
    from vcollege.core.models import Role
    from vcollege.core.people import create_person
    from vcollege.core.permissions import Actor
    from vcollege.extensions import db
    from vcollege.learning.models import EnrolmentSource
    from vcollege.learning.progress import mark_read, submit_quiz
    from vcollege.learning.service import enrol_learner

    operator = Actor.operator("bench")
    now = dt.datetime.now(dt.UTC)
    app = bench_app()
    slug = "introduction-to-cites"
    with app.app_context():
        sync_catalogue(db.session, PROJECT_ROOT / "courses", actor=operator, now=now)
        learner = create_person(db.session, name="Bench Learner", party="KE", roles=(Role.LEARNER,),
                                actor=operator, now=now)
        version = get_version(db.session, slug)
        enrol_learner(db.session, learner, version, source=EnrolmentSource.LTI, actor=operator, now=now)
        db.session.commit()
        learner_id = learner.id
        first = version.modules[0]
        right = {q["id"]: [c["id"] for c in q["choices"] if c["correct"]] for q in first.quiz["en"]}

    client = app.test_client()
    with client.session_transaction() as session:
        session.update({"_user_id": str(learner_id), "_fresh": True, "vcollege_via": "lti:https://lms.example.org"})

    def get(path):
        def call():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        return call

    def graded_quiz():
        """Grade one attempt (lock, grade, store, progress), then undo it: attempts stay available."""
        from vcollege.learning.enrolments import find_enrolment

        with app.app_context():
            person = db.session.get(type(learner), learner_id)
            enrolment = find_enrolment(db.session, person, slug)
            submit_quiz(db.session, enrolment, first.key, right, language="en",
                        actor=Actor.for_lti(person, "https://lms.example.org"), now=now)
            db.session.rollback()

    def whole_course():
        """Every module read and every quiz passed, up to the completion, then undone."""
        from vcollege.learning.enrolments import find_enrolment

        with app.app_context():
            person = db.session.get(type(learner), learner_id)
            enrolment = find_enrolment(db.session, person, slug)
            actor = Actor.for_lti(person, "https://lms.example.org")
            for module in enrolment.version.modules:
                if module.quiz:
                    answers = {q["id"]: [c["id"] for c in q["choices"] if c["correct"]] for q in module.quiz["en"]}
                    submit_quiz(db.session, enrolment, module.key, answers, language="en", actor=actor, now=now)
                else:
                    mark_read(db.session, enrolment, module.key, actor=actor, now=now)
            assert enrolment.status.value == "completed"
            db.session.rollback()

    return [
        compare(
            "HTTP: the player's pages against the cheapest request (test client, SQLite)",
            ("GET /healthz (one SELECT)", get("/healthz")),
            ("GET /learn (the learner's home)", get("/learn")),
            (f"GET /learn/{slug} (course, progress, languages)", get(f"/learn/{slug}")),
            (f"GET /learn/{slug}/modules/{first.key} (Markdown rendered, quiz)", get(f"/learn/{slug}/modules/{first.key}")),
            number=20,
        ),
        compare(
            "Service: one graded quiz attempt against a whole course taken to its completion",
            ("submit_quiz: one attempt graded and stored", graded_quiz),
            ("5 modules read and quizzes passed, completion with certificate and badge", whole_course),
            number=5,
        ),
    ]
