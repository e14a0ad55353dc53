"""The learning area's demo step: the demo learners enrolled in the catalogue's courses, some
part-way, one course completed with its certificate and badge, so that no page is empty.

Idempotent: enrolling again changes nothing, and progress is added only to enrolments that
have none. It runs after the catalogue's sync step; with no course loaded it does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from vcollege.catalogue.service import list_courses
from vcollege.learning.enrolments import enrol_learner
from vcollege.learning.models import Completion, EnrolmentSource, EnrolmentStatus
from vcollege.learning.progress import mark_read, missing_prerequisites, submit_quiz

if TYPE_CHECKING:
    from vcollege.demo import DemoContext


def _right_answers(module) -> dict[str, list[str]]:
    questions = module.quiz.get("en") or next(iter(module.quiz.values()))
    return {q["id"]: [c["id"] for c in q["choices"] if c.get("correct")] for q in questions}


def _take(ctx: DemoContext, enrolment, modules: int, *, quiz_right: bool = True) -> None:
    """Read the first `modules` modules (passing their quizzes when `quiz_right`)."""
    if enrolment.status != EnrolmentStatus.ACTIVE or enrolment.progress or missing_prerequisites(ctx.session, enrolment):
        return
    for module in list(enrolment.version.modules)[:modules]:
        if enrolment.status != EnrolmentStatus.ACTIVE:
            return
        if module.quiz:
            answers = _right_answers(module)
            if not quiz_right:  # one question wrong
                first = next(iter(answers))
                choices = [c["id"] for q in (module.quiz.get("en") or []) if q["id"] == first for c in q["choices"]]
                answers[first] = [next(c for c in choices if c not in answers[first])]
            submit_quiz(ctx.session, enrolment, module.key, answers, language="en", actor=ctx.actor, now=ctx.now)
        else:
            mark_read(ctx.session, enrolment, module.key, actor=ctx.actor, now=ctx.now)


def enrol_demo_learners(ctx: DemoContext) -> None:
    from vcollege.demo import demo_learners

    learners = demo_learners(ctx.session)
    online = [v for v in list_courses(ctx.session) if v.delivery.value == "online"]
    if not learners or not online:
        ctx.echo("Learning: no demo learners or no online course; skipped.")
        return
    open_courses = [v for v in online if not v.prerequisites] or online
    first = open_courses[0]
    enrolled = 0
    for index, person in enumerate(learners[:8]):
        for version in online[: 1 + index % 3]:
            enrolment = enrol_learner(ctx.session, person, version, source=EnrolmentSource.DEMO, actor=ctx.actor,
                                      now=ctx.now)
            enrolled += 1
            if version is not first:
                continue
            if index in (0, 1):
                _take(ctx, enrolment, len(version.modules))  # completed
            elif index in (2, 3):
                _take(ctx, enrolment, max(1, len(version.modules) // 2), quiz_right=index == 2)
    completed = ctx.session.scalar(select(func.count(Completion.id)))
    ctx.echo(f"Learning: {enrolled} enrolments checked, {completed} completions in all.")
