"""marshmallow schemas of the learning area: API bodies and answers, query args and forms.

Schemas check shape and format; whether a person, course or module exists is a service rule.
Answers are built from plain dicts made by the edges (`api.py`), so nothing here queries.
"""

from __future__ import annotations

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from vcollege.core.models import Agency
from vcollege.learning.models import EnrolmentSource, EnrolmentStatus
from vcollege.learning.reasons import REASON_MAX, REASON_MIN

SLUG = validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="Must be a course slug (cites-for-customs).")
REASON = validate.Length(min=REASON_MIN, max=REASON_MAX, error=f"Give a reason ({REASON_MIN} to {REASON_MAX} characters).")


def _blanks(data, names):
    return {k: (None if k in names and v in ("", None) else v) for k, v in dict(data).items()}


class ChoiceSchema(Schema):
    id = fields.String()
    text = fields.String()


class PublicQuestionSchema(Schema):
    id = fields.String()
    text = fields.String()
    multiple = fields.Boolean(metadata={"description": "Several choices are correct: tick exactly those."})
    choices = fields.List(fields.Nested(ChoiceSchema))


class ModuleProgressSchema(Schema):
    key = fields.String()
    position = fields.Integer()
    title = fields.String()
    language = fields.String(metadata={"description": "The language the title is given in"})
    minutes = fields.Integer()
    required = fields.Boolean()
    read = fields.Boolean()
    waived = fields.Boolean()
    done = fields.Boolean()
    has_quiz = fields.Boolean()
    pass_mark = fields.Integer(allow_none=True)
    attempts_allowed = fields.Integer(allow_none=True)
    attempts_used = fields.Integer()
    attempts_left = fields.Integer(allow_none=True)
    best_score = fields.Float(allow_none=True)
    passed = fields.Boolean()


class CompletionSummarySchema(Schema):
    completed_at = fields.AwareDateTime()
    score = fields.Float(allow_none=True, metadata={"description": "0-100; null when the whole course was waived"})
    waived = fields.Boolean()
    waived_modules = fields.List(fields.String())
    verification_code = fields.String(allow_none=True)
    verification_url = fields.String(allow_none=True)
    certificate_url = fields.String(allow_none=True)
    badge_url = fields.String(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)


class EnrolmentSchema(Schema):
    id = fields.Integer()
    course = fields.String(metadata={"description": "Course slug"})
    title = fields.String()
    version = fields.Integer()
    current_version = fields.Integer(metadata={"description": "The course's current version (a newer one may exist)"})
    status = fields.Enum(EnrolmentStatus, by_value=True)
    source = fields.Enum(EnrolmentSource, by_value=True)
    enrolled_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime(allow_none=True)
    progress = fields.Integer(metadata={"description": "Percent of the required modules done"})
    score = fields.Float(allow_none=True, metadata={"description": "Provisional or final score, 0-100"})
    continue_module = fields.String(allow_none=True, metadata={"description": "Where to continue"})
    missing_prerequisites = fields.List(fields.String())
    completion = fields.Nested(CompletionSummarySchema, allow_none=True)


class EnrolmentDetailSchema(EnrolmentSchema):
    language = fields.String(metadata={"description": "The content language asked for"})
    min_score = fields.Integer()
    attendance_required = fields.Integer(allow_none=True)
    attendance = fields.Integer(allow_none=True)
    modules = fields.List(fields.Nested(ModuleProgressSchema))


class ModuleContentSchema(Schema):
    key = fields.String()
    title = fields.String()
    language = fields.String(metadata={"description": "The language shown"})
    requested_language = fields.String()
    fallback = fields.Boolean(metadata={"description": "Not available in the requested language: shown in `language`"})
    html = fields.String(metadata={"description": "The module's text as sanitised HTML"})
    quiz = fields.List(fields.Nested(PublicQuestionSchema), metadata={"description": "Without the answers"})
    progress = fields.Nested(ModuleProgressSchema)


class LanguageArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    lang = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"),
                         metadata={"description": "Content language (default: the learner's)"})


class ProgressBodySchema(Schema):
    read = fields.Boolean(required=True, validate=validate.Equal(True, error="Only `true` can be recorded."))


class AttemptBodySchema(Schema):
    answers = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True,
                          metadata={"description": "Question id -> list of choice ids (a string for one choice)"})
    language = fields.String(load_default=None, metadata={"description": "The language the quiz was shown in"})

    @validates_schema
    def choice_lists(self, data, **kwargs):
        for question, value in (data.get("answers") or {}).items():
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValidationError({question: ["A choice id or a list of choice ids."]}, "answers")


class QuestionResultSchema(Schema):
    id = fields.String()
    text = fields.String()
    chosen = fields.List(fields.String())
    correct_choices = fields.List(fields.String(), allow_none=True,
                                  metadata={"description": "null until the answers may be seen (`answers_revealed`)"})
    right = fields.Boolean()
    explanation = fields.String(allow_none=True, metadata={"description": "null until the answers may be seen"})
    choices = fields.List(fields.Nested(ChoiceSchema))


class AttemptResultSchema(Schema):
    number = fields.Integer()
    score = fields.Float()
    passed = fields.Boolean()
    pass_mark = fields.Integer()
    attempts_left = fields.Integer(allow_none=True)
    answers_revealed = fields.Boolean(metadata={
        "description": "The correct choices and explanations are included: the quiz is passed, no attempt is "
                       "left, or the course is completed. Until then only `right` says how each question went."})
    questions = fields.List(fields.Nested(QuestionResultSchema))
    enrolment = fields.Nested(EnrolmentDetailSchema)


class EnrolmentListArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    course = fields.String(required=True, validate=SLUG)
    status = fields.Enum(EnrolmentStatus, by_value=True)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class LearnerProgressSchema(EnrolmentSchema):
    person_id = fields.Integer()
    name = fields.String()
    email = fields.String(allow_none=True)
    party = fields.String(allow_none=True)


class EnrolBodySchema(Schema):
    """Enrol a person, by id or e-mail, in a course (its current version unless given)."""

    person_id = fields.Integer(load_default=None, allow_none=True)
    email = fields.Email(load_default=None, allow_none=True)
    course = fields.String(required=True, validate=SLUG)
    version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    expires_on = fields.Date(load_default=None, allow_none=True)

    @pre_load
    def blanks(self, data, **kwargs):
        return _blanks(data, ("person_id", "email", "version", "expires_on"))

    @validates_schema
    def one_person(self, data, **kwargs):
        if bool(data.get("person_id")) == bool(data.get("email")):
            raise ValidationError("Give the person's id or their e-mail (one of them).", "email")


class WaiverBodySchema(Schema):
    module = fields.String(load_default=None, allow_none=True,
                           metadata={"description": "The module key; empty to waive the whole course"})
    reason = fields.String(required=True, validate=REASON)

    @pre_load
    def blanks(self, data, **kwargs):
        return _blanks(data, ("module",))


class WithdrawBodySchema(Schema):
    reason = fields.String(required=True, validate=REASON)


class RevokeBodySchema(Schema):
    reason = fields.String(required=True, validate=REASON)


class CompletionListArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    course = fields.String(validate=SLUG)
    party = fields.String(validate=validate.Regexp(r"^[A-Z]{2}$", error="ISO 3166 alpha-2 code (KE)."))
    since = fields.Date(metadata={"description": "Completed on or after this day"})
    until = fields.Date(metadata={"description": "Completed before this day"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class CompletionSchema(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    name = fields.String(metadata={"description": "The person's name now"})
    learner_name = fields.String(metadata={"description": "The name as it was at completion, as the certificate prints it"})
    party = fields.String(allow_none=True, metadata={"description": "ISO2 of the learner's Party when they completed"})
    agency = fields.Enum(Agency, by_value=True, allow_none=True)
    course = fields.String()
    version = fields.Integer()
    hours = fields.Float()
    completed_at = fields.AwareDateTime()
    score = fields.Float(allow_none=True)
    waived = fields.Boolean()
    waived_modules = fields.List(fields.String())
    verification_code = fields.String(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)
