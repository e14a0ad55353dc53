"""The completion rule and quiz grading, as pure functions of an enrolment's records.

Completion rule (`completion` of a course version, see courses/README.md):

- the required modules are all the modules, or the keys listed in `completion.modules`;
- a module is *done* when it is waived, or when it has been read and, if it has a quiz, the
  best score of its attempts reaches the module's pass mark;
- the final score is the mean of the best scores of the required, non-waived modules'
  quizzes; a course with no such quiz scores 100;
- the rule holds when every required module is done and the final score is at least
  `completion.min_score`; in-person and blended courses with an `attendance` threshold also
  need the attendance the cohorts area recorded (`record_attendance_rate`) to reach it —
  until one is recorded, attendance is unmet;
- a whole-course waiver completes the course at once, with no score (marked "waived");
- a learner is held to the version they enrolled in; a new version never changes their rule.

Quizzes: a question is answered right when exactly its correct choices are ticked (one for
a single-choice question, all of them and no other when several are correct). A quiz's
score is the share of questions answered right, in percent. Scores are compared exactly
(as fractions), so 69.5% never rounds up to a pass mark of 70%.

After an attempt the learner sees, per question, whether their answer was right, and the
score. The correct choices and the explanations are revealed (`answers_revealed`) only once
they can no longer help to pass: the quiz is passed, no attempt is left, or the course is
completed (a whole-course waiver completes it); otherwise the attempt limit would mean
nothing. Pages and API apply the same rule (`feedback`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from vcollege.catalogue.models import CourseVersion, Delivery, Module
from vcollege.catalogue.service import CompletionRule, completion_rule
from vcollege.errors import InvalidInput
from vcollege.learning.models import Enrolment, EnrolmentStatus, QuizAttempt

HUNDRED = Fraction(100)


def percent(value: Fraction | None) -> float | None:
    """A score for storing and showing: a float with at most two decimals."""
    return None if value is None else round(float(value), 2)


@dataclass(frozen=True)
class ModuleState:
    module: Module
    required: bool
    read: bool
    waived: bool
    attempts_used: int
    best: Fraction | None  # best quiz score in percent, None before any attempt

    @property
    def has_quiz(self) -> bool:
        return bool(self.module.quiz)

    @property
    def attempts_left(self) -> int | None:
        if not self.has_quiz or self.module.attempts is None:
            return None
        return max(0, self.module.attempts - self.attempts_used)

    @property
    def passed(self) -> bool:
        return self.has_quiz and self.best is not None and self.best >= (self.module.pass_mark or 0)

    @property
    def done(self) -> bool:
        return self.waived or (self.read and (not self.has_quiz or self.passed))

    @property
    def failed_for_good(self) -> bool:
        """No attempt left and the pass mark never reached: only a waiver can help now."""
        return self.has_quiz and not self.passed and not self.waived and self.attempts_left == 0

    @property
    def best_percent(self) -> float | None:
        return percent(self.best)


@dataclass(frozen=True)
class CourseState:
    version: CourseVersion
    rule: CompletionRule
    modules: tuple[ModuleState, ...]
    course_waived: bool
    attendance: int | None  # percent recorded by the cohorts area

    @property
    def required(self) -> tuple[ModuleState, ...]:
        return tuple(m for m in self.modules if m.required)

    @property
    def scored(self) -> tuple[ModuleState, ...]:
        return tuple(m for m in self.required if m.has_quiz and not m.waived)

    @property
    def score(self) -> Fraction | None:
        """The final score: mean of the best scores of the required, non-waived quizzes (an
        unattempted quiz counts 0); 100 when there is none; None for a waived course."""
        if self.course_waived:
            return None
        scored = self.scored
        if not scored:
            return HUNDRED
        return sum((m.best or Fraction(0) for m in scored), Fraction(0)) / len(scored)

    @property
    def attendance_needed(self) -> int | None:
        if self.version.delivery == Delivery.ONLINE:
            return None
        return self.rule.attendance

    @property
    def attendance_met(self) -> bool:
        needed = self.attendance_needed
        return needed is None or (self.attendance is not None and self.attendance >= needed)

    @property
    def modules_done(self) -> bool:
        return all(m.done for m in self.required)

    @property
    def score_met(self) -> bool:
        score = self.score
        return score is not None and score >= self.rule.min_score

    @property
    def holds(self) -> bool:
        if self.course_waived:
            return True
        return self.modules_done and self.score_met and self.attendance_met

    @property
    def done_count(self) -> int:
        return sum(1 for m in self.required if m.done)

    @property
    def progress_percent(self) -> int:
        """Share of the required modules done (a waived course is 100)."""
        if self.course_waived or not self.required:
            return 100
        return int(100 * self.done_count / len(self.required))

    @property
    def waived_modules(self) -> list[str]:
        return [m.module.key for m in self.modules if m.waived]

    @property
    def blocked(self) -> bool:
        """A required quiz can no longer be passed (no attempts left): a trainer must waive it."""
        return any(m.required and m.failed_for_good for m in self.modules)

    def module(self, key: str) -> ModuleState:
        for state in self.modules:
            if state.module.key == key:
                return state
        raise KeyError(key)


def best_of(attempts: list[QuizAttempt]) -> Fraction | None:
    if not attempts:
        return None
    return max(Fraction(100 * a.correct, a.total) if a.total else Fraction(0) for a in attempts)


def course_state(enrolment: Enrolment, version: CourseVersion | None = None) -> CourseState:
    """Where `enrolment` stands against the completion rule of its version."""
    version = version or enrolment.version
    rule = completion_rule(version)
    required = set(rule.modules)
    read = {p.module_id for p in enrolment.progress if p.read_at is not None}
    waived = {w.module_id for w in enrolment.waivers if w.module_id is not None}
    course_waived = any(w.module_id is None for w in enrolment.waivers)
    modules = []
    for module in version.modules:
        attempts = [a for a in enrolment.attempts if a.module_id == module.id]
        modules.append(ModuleState(
            module=module, required=module.key in required, read=module.id in read,
            waived=module.id in waived, attempts_used=len(attempts), best=best_of(attempts),
        ))
    return CourseState(version, rule, tuple(modules), course_waived, enrolment.attendance_percent)


@dataclass(frozen=True)
class QuestionResult:
    id: str
    text: str
    chosen: tuple[str, ...]
    correct_choices: tuple[str, ...] | None  # None: not revealed to the learner (see `feedback`)
    right: bool
    explanation: str | None
    choices: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Grade:
    correct: int
    total: int
    questions: tuple[QuestionResult, ...]

    @property
    def score(self) -> Fraction:
        return Fraction(100 * self.correct, self.total) if self.total else Fraction(0)


def check_answers(questions: list[dict[str, Any]], answers: Mapping[str, Any]) -> dict[str, list[str]]:
    """The answers cleaned up (question id -> choice ids), or InvalidInput naming each
    question left unanswered or answered with a choice it does not have."""
    errors: dict[str, list[str]] = {}
    known = {q["id"] for q in questions}
    for extra in sorted(set(answers) - known):
        errors[str(extra)] = ["This question is not in the quiz."]
    clean: dict[str, list[str]] = {}
    for question in questions:
        raw = answers.get(question["id"])
        chosen = [raw] if isinstance(raw, str) else list(raw or [])
        chosen = [str(c) for c in chosen if str(c).strip()]
        choice_ids = {c["id"] for c in question["choices"]}
        multiple = sum(1 for c in question["choices"] if c.get("correct")) > 1
        if not chosen:
            errors[question["id"]] = ["Answer this question."]
        elif set(chosen) - choice_ids:
            errors[question["id"]] = ["Choose among the question's choices."]
        elif not multiple and len(chosen) > 1:
            errors[question["id"]] = ["Choose one answer."]
        else:
            clean[question["id"]] = sorted(set(chosen))
    if errors:
        raise InvalidInput(f"{len(errors)} question(s) need an answer.", errors=errors)
    return clean


def grade(questions: list[dict[str, Any]], answers: Mapping[str, list[str]]) -> Grade:
    """Grade checked answers against the questions (with their `correct` flags)."""
    results = []
    for question in questions:
        correct = tuple(sorted(c["id"] for c in question["choices"] if c.get("correct")))
        chosen = tuple(sorted(answers.get(question["id"], [])))
        results.append(QuestionResult(
            id=question["id"], text=question["text"], chosen=chosen, correct_choices=correct,
            right=chosen == correct, explanation=question.get("explanation") or None,
            choices=tuple({"id": c["id"], "text": c["text"]} for c in question["choices"]),
        ))
    return Grade(sum(1 for r in results if r.right), len(results), tuple(results))


def answers_revealed(enrolment: Enrolment, state: ModuleState) -> bool:
    """The correct choices and explanations of a module's quiz may be shown to the learner
    once they can no longer change the score: no attempt is left, or the course is completed
    (or waived). Not merely on a pass: with attempts left, a learner shown the answers could
    retake the quiz for full marks."""
    if enrolment.completion is not None or enrolment.status == EnrolmentStatus.COMPLETED:
        return True
    return state.attempts_left == 0


def feedback(result: Grade, revealed: bool) -> tuple[QuestionResult, ...]:
    """The graded questions as the learner may see them: without the correct choices and
    the explanations unless they are `revealed`."""
    if revealed:
        return result.questions
    return tuple(replace(q, correct_choices=None, explanation=None) for q in result.questions)
