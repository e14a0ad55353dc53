"""The learning API.

- `/api/v1/me/...`: the signed-in learner's enrolments, module content, progress and quiz
  attempts: everything a front end other than the built-in player needs (a learner session,
  with the `X-CSRFToken` header on writes);
- `/api/v1/enrolments`: trainers and other systems list and create enrolments and waivers
  (`enrolments:read`, `enrolments:manage`);
- `/api/v1/completions`: completions with their credential codes (`completions:read`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from flask_smorest import Blueprint

from vcollege.api import (
    ProblemSchema,
    page_of,
    paged_response,
    paginate_query,
    protected,
)
from vcollege.auth import current_actor
from vcollege.catalogue.service import get_version
from vcollege.core.parties import get_party
from vcollege.core.people import find_people_by_email, get_person
from vcollege.errors import Forbidden, InvalidInput, NotFound
from vcollege.extensions import db, utcnow
from vcollege.learning.content import module_view
from vcollege.learning.enrolments import (
    course_enrolments_query,
    enrol_learner,
    get_enrolment,
    get_own_enrolment,
    list_own_enrolments,
)
from vcollege.learning.models import Completion, EnrolmentSource
from vcollege.learning.permissions import COMPLETIONS_READ, ENROLMENTS_MANAGE, ENROLMENTS_READ
from vcollege.learning.present import content_language, enrolment_dict, module_dict
from vcollege.learning.progress import (
    list_completions,
    mark_read,
    missing_prerequisites_of,
    open_module,
    submit_quiz,
    waive_course,
    waive_module,
)
from vcollege.learning.rules import answers_revealed, course_state, feedback, percent
from vcollege.learning.schemas import (
    AttemptBodySchema,
    AttemptResultSchema,
    CompletionListArgsSchema,
    CompletionSchema,
    EnrolBodySchema,
    EnrolmentDetailSchema,
    EnrolmentListArgsSchema,
    EnrolmentSchema,
    LanguageArgsSchema,
    LearnerProgressSchema,
    ModuleContentSchema,
    ProgressBodySchema,
    WaiverBodySchema,
)

me = Blueprint("learning_me_api", __name__, url_prefix="/api/v1/me",
               description="The signed-in learner's courses: enrolments, module content, progress and quizzes")
blp = Blueprint("learning_api", __name__, url_prefix="/api/v1",
                description="Enrolments and completions, for trainers and other systems")


def _learner():
    actor = current_actor()
    if actor.person is None:
        raise Forbidden("These endpoints are for a signed-in learner (an LTI launch), not for API tokens.")
    return actor


@me.get("/enrolments")
@protected(me, None)
@me.response(200, EnrolmentSchema(many=True))
def my_enrolments():
    """My enrolments, the most recently active first, with progress and any completion."""
    actor = _learner()
    lang = content_language(actor.person)
    enrolments = list_own_enrolments(db.session, actor.person)
    missing = missing_prerequisites_of(db.session, enrolments)
    return [enrolment_dict(db.session, e, lang, missing=missing[e.id]) for e in enrolments]


@me.get("/enrolments/<slug>")
@protected(me, None)
@me.arguments(LanguageArgsSchema, location="query", as_kwargs=True)
@me.response(200, EnrolmentDetailSchema)
@me.alt_response(404, schema=ProblemSchema, description="Not enrolled in this course")
def my_enrolment(slug: str, lang=None):
    """One enrolment with the state of each module."""
    actor = _learner()
    enrolment = get_own_enrolment(db.session, actor, slug)
    return enrolment_dict(db.session, enrolment, content_language(actor.person, lang), detail=True)


@me.get("/enrolments/<slug>/modules/<key>")
@protected(me, None)
@me.arguments(LanguageArgsSchema, location="query", as_kwargs=True)
@me.response(200, ModuleContentSchema)
@me.alt_response(403, schema=ProblemSchema, description="Prerequisites not completed")
@me.alt_response(404, schema=ProblemSchema, description="No such enrolment or module")
def my_module(slug: str, key: str, lang=None):
    """A module's text (sanitised HTML) and quiz without its answers; opening it is recorded
    for "continue where you left off"."""
    actor = _learner()
    enrolment = get_own_enrolment(db.session, actor, slug)
    module = open_module(db.session, enrolment, key, actor=actor, now=utcnow())
    db.session.commit()
    wanted = content_language(actor.person, lang)
    view = module_view(module, wanted)
    state = course_state(enrolment).module(key)
    return {
        "key": module.key, "title": view.title, "language": view.language, "requested_language": wanted,
        "fallback": view.fallback, "html": view.html, "quiz": view.questions, "progress": module_dict(state, wanted),
    }


@me.post("/enrolments/<slug>/modules/<key>/progress")
@protected(me, None)
@me.arguments(ProgressBodySchema)
@me.response(200, EnrolmentDetailSchema)
@me.alt_response(409, schema=ProblemSchema, description="The enrolment is not active")
def my_progress(body, slug: str, key: str):
    """Record that I have read a module (`{"read": true}`); the answer is the enrolment,
    completed if this was the last requirement."""
    actor = _learner()
    enrolment = get_own_enrolment(db.session, actor, slug)
    mark_read(db.session, enrolment, key, actor=actor, now=utcnow())
    db.session.commit()
    return enrolment_dict(db.session, enrolment, content_language(actor.person), detail=True)


@me.post("/enrolments/<slug>/modules/<key>/attempts")
@protected(me, None)
@me.arguments(AttemptBodySchema)
@me.response(201, AttemptResultSchema)
@me.alt_response(409, schema=ProblemSchema, description="No attempt left, or the enrolment is not active")
@me.alt_response(422, schema=ProblemSchema, description="A question unanswered or a choice unknown")
def my_attempt(body, slug: str, key: str):
    """Submit answers to a module's quiz; it is graded on the server. The answer says, per
    question, whether it was answered right, and the score; the correct choices and the
    explanations come only once they may be seen (`answers_revealed`: the quiz is passed, no
    attempt is left, or the course is completed), else they are null."""
    actor = _learner()
    enrolment = get_own_enrolment(db.session, actor, slug)
    outcome = submit_quiz(db.session, enrolment, key, body["answers"],
                          language=body.get("language") or content_language(actor.person), actor=actor, now=utcnow())
    db.session.commit()
    attempt = outcome.attempt
    state = outcome.state.module(key)
    revealed = answers_revealed(enrolment, state)
    return {
        "number": attempt.number, "score": attempt.score, "passed": attempt.passed,
        "pass_mark": state.module.pass_mark, "attempts_left": state.attempts_left, "answers_revealed": revealed,
        "questions": [dataclasses.asdict(q) for q in feedback(outcome.grade, revealed)],
        "enrolment": enrolment_dict(db.session, enrolment, content_language(actor.person), detail=True),
    }


# Trainers and other systems ---------------------------------------------------------------


def _learner_row(enrolment, missing: list[str] | None = None) -> dict:
    person = enrolment.person
    return {
        **enrolment_dict(db.session, enrolment, "en", missing=missing), "person_id": person.id, "name": person.name,
        "email": person.email, "party": person.party.iso2 if person.party else None,
    }


@blp.get("/enrolments")
@protected(blp, ENROLMENTS_READ)
@blp.arguments(EnrolmentListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, page_of(LearnerProgressSchema))
def list_enrolments(course: str, page: int, per_page: int, status=None):
    """The learners of a course (every version) and their progress, by name."""
    found = get_version(db.session, course).course
    result = paginate_query(db.session, course_enrolments_query(found, status=status), page, per_page)
    missing = missing_prerequisites_of(db.session, result.items)
    result.items = [_learner_row(e, missing[e.id]) for e in result.items]
    return paged_response(result, "learning_api.list_enrolments",
                          {"course": course, "status": status.value if status else None})


@blp.post("/enrolments")
@protected(blp, ENROLMENTS_MANAGE)
@blp.arguments(EnrolBodySchema)
@blp.response(201, LearnerProgressSchema)
@blp.alt_response(404, schema=ProblemSchema, description="No such person or course")
@blp.alt_response(409, schema=ProblemSchema, description="The course is retired")
def create_enrolment(body):
    """Enrol a person (by id or e-mail) in a course; enrolling again returns the enrolment."""
    if body["person_id"]:
        person = get_person(db.session, body["person_id"])
    else:
        people = find_people_by_email(db.session, body["email"])
        if len(people) != 1:
            raise (NotFound if not people else InvalidInput)(
                "Nobody has this e-mail." if not people else "Several people have this e-mail; give the person_id.",
                errors={"email": ["Unknown." if not people else "Ambiguous."]})
        person = people[0]
    version = get_version(db.session, body["course"], body["version"])
    expires = body["expires_on"]
    enrolment = enrol_learner(
        db.session, person, version, source=EnrolmentSource.API, actor=current_actor(), now=utcnow(),
        expires_at=dt.datetime.combine(expires + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC) if expires else None,
    )
    db.session.commit()
    return _learner_row(enrolment)


@blp.post("/enrolments/<int:enrolment_id>/waivers")
@protected(blp, ENROLMENTS_MANAGE)
@blp.arguments(WaiverBodySchema)
@blp.response(201, LearnerProgressSchema)
@blp.alt_response(409, schema=ProblemSchema, description="Already waived, or the enrolment is not active")
def create_waiver(body, enrolment_id: int):
    """Waive a module (`module`) or the whole course (no `module`) for a learner, with a reason."""
    enrolment = get_enrolment(db.session, enrolment_id)
    if body["module"]:
        waive_module(db.session, enrolment, body["module"], reason=body["reason"], actor=current_actor(), now=utcnow())
    else:
        waive_course(db.session, enrolment, reason=body["reason"], actor=current_actor(), now=utcnow())
    db.session.commit()
    return _learner_row(enrolment)


def _completion_row(completion: Completion) -> dict:
    credential = completion.credential
    return {
        "id": completion.id, "person_id": completion.person_id, "name": completion.person.name,
        "learner_name": completion.learner_name,
        "party": completion.party.iso2 if completion.party else None, "agency": completion.agency,
        "course": completion.course.slug, "version": completion.course_version.number,
        "hours": float(completion.course_version.hours), "completed_at": completion.completed_at,
        "score": percent(completion.score) if completion.score is not None else None, "waived": completion.waived,
        "waived_modules": completion.waived_modules, "verification_code": credential.code if credential else None,
        "revoked_at": credential.revoked_at if credential else None,
    }


@blp.get("/completions")
@protected(blp, COMPLETIONS_READ)
@blp.arguments(CompletionListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, page_of(CompletionSchema))
def completions(page: int, per_page: int, course=None, party=None, since=None, until=None):
    """Completions, newest first, by course, Party (as it was when completed) and dates."""
    party_id = get_party(db.session, party).id if party else None
    query = list_completions(
        db.session, course=course, party_id=party_id,
        since=dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC) if since else None,
        until=dt.datetime.combine(until, dt.time(), tzinfo=dt.UTC) if until else None,
    )
    result = paginate_query(db.session, query, page, per_page)
    result.items = [_completion_row(c) for c in result.items]
    return paged_response(result, "learning_api.completions",
                          {"course": course, "party": party, "since": since, "until": until})
