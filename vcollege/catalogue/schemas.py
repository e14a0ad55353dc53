"""marshmallow schemas of the catalogue: the files of `courses/` (course.toml, quiz files),
the API's answers and the filters of the catalogue page and API.

File schemas check shape, types and ranges, and the rules that hold inside one file (module
ids unique, the completion rule naming modules of the course, attendance only for in-person
and blended courses, a correct choice in every question). Rules that need other files (the
competency list, the other courses, the translations) are the loader's (`loader.py`).
TOML already gives typed values, so the fields here are strict: `hours = "6"` or
`correct = "yes"` are refused rather than coerced.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from vcollege.catalogue.models import Access, Delivery
from vcollege.core.models import Agency

FORMAT_VERSION = 1
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")
ITEM_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# /catalogue/coverage is a page; a course folder of that name could never be shown.
RESERVED_SLUGS = frozenset({"coverage"})

SLUG = validate.And(
    validate.Length(max=100),
    validate.Regexp(SLUG_PATTERN, error="Use lower-case letters, digits and single hyphens (cites-for-customs)."),
)
LANGUAGE = validate.Regexp(LANGUAGE_PATTERN, error="Must be a language code such as en, fr, es or pt.")
ITEM_ID = validate.And(
    validate.Length(max=40),
    validate.Regexp(ITEM_ID_PATTERN, error="Use letters, digits, hyphens and underscores (q1, a)."),
)


class Whole(fields.Integer):
    """A TOML integer: no floats, strings or booleans."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Number(fields.Field):
    """A TOML integer or float (not a string, not a boolean)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValidationError("Must be a number (write 6 or 1.5, without quotes).")
        return float(value)


class StrictBoolean(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false (without quotes).")
        return value


# The top-level keys of course.toml: written after `[title]` or `[summary]`, TOML puts them
# inside that table, a mistake worth its own message.
COURSE_KEYS = frozenset({
    "format", "audiences", "competencies", "delivery", "hours", "access", "prerequisites", "languages",
})


class Texts(fields.Field):
    """A table of texts by language code, English required: `[title]`, `[summary]`."""

    def __init__(self, *, max_length: int, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("Must be a table of texts by language: [title] then en = \"...\".")
        errors: dict[str, list[str]] = {}
        texts: dict[str, str] = {}
        for code, text in value.items():
            if code in COURSE_KEYS:
                errors[code] = [
                    f"`{code}` is inside this table: in TOML every key after a [table] line belongs "
                    f"to it. Put `{code}` and the other top-level keys before [title]."
                ]
            elif not LANGUAGE_PATTERN.match(code):
                errors[code] = ["Not a language code (en, fr, es, pt...)."]
            elif not isinstance(text, str) or not text.strip():
                errors[code] = ["Must be a non-empty text."]
            elif len(text.strip()) > self.max_length:
                errors[code] = [f"Longer than {self.max_length} characters."]
            else:
                texts[code] = text.strip()
        if "en" not in value:
            errors["en"] = ["Missing: English is required."]
        if errors:
            raise ValidationError(errors)
        return texts


class ModuleSelection(fields.Field):
    """`completion.modules`: the word "all", or a list of module ids."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "all":
            return "all"
        if not isinstance(value, list) or not value:
            raise ValidationError('Must be "all" or a non-empty list of module ids.')
        errors = {i: ["Must be a module id."] for i, item in enumerate(value) if not isinstance(item, str)}
        if errors:
            raise ValidationError(errors)
        return value


def unique(values: Iterable) -> None:
    """A list validator: no value twice."""
    seen: set = set()
    for value in values:
        if value in seen:
            raise ValidationError(f"{value!r} is listed twice.")
        seen.add(value)


def _one_of(values: Iterable[str]) -> validate.OneOf:
    values = list(values)
    return validate.OneOf(values, error=f"{{input!r}} is not one of: {', '.join(values)}.")


AGENCIES = [a.value for a in Agency]
DELIVERIES = [d.value for d in Delivery]
ACCESSES = [a.value for a in Access]


class QuizSettingsSchema(Schema):
    """`[modules.quiz]`: what applies to the quiz in every language."""

    pass_mark = Whole(required=True, validate=validate.Range(1, 100))
    attempts = Whole(required=True, validate=validate.Range(1, 100))


class ModuleEntrySchema(Schema):
    """One `[[modules]]` entry of course.toml."""

    id = fields.String(required=True, validate=SLUG)
    minutes = Whole(required=True, validate=validate.Range(1, 10_000))
    quiz = fields.Nested(QuizSettingsSchema, load_default=None)


class CompletionSchema(Schema):
    """`[completion]`: what a learner must do to complete the course."""

    modules = ModuleSelection(required=True)
    min_score = Whole(load_default=0, validate=validate.Range(0, 100))
    attendance = Whole(load_default=None, validate=validate.Range(1, 100))


class CourseFileSchema(Schema):
    """course.toml (see courses/README.md)."""

    format = Whole(required=True, validate=validate.Equal(FORMAT_VERSION, error="Must be 1 (the format of courses/README.md)."))
    title = Texts(required=True, max_length=200)
    summary = Texts(required=True, max_length=2000)
    audiences = fields.List(fields.String(validate=_one_of(AGENCIES)), required=True,
                            validate=[validate.Length(min=1, error="List at least one audience."), unique])
    competencies = fields.List(fields.String(), required=True,
                               validate=[validate.Length(min=1, error="List at least one competency area."), unique])
    delivery = fields.String(required=True, validate=_one_of(DELIVERIES))
    hours = Number(required=True, validate=validate.Range(0, 9999, min_inclusive=False))
    access = fields.String(required=True, validate=_one_of(ACCESSES))
    prerequisites = fields.List(fields.String(validate=SLUG), load_default=list, validate=unique)
    languages = fields.List(fields.String(validate=LANGUAGE), required=True,
                            validate=[validate.Length(min=1), unique])
    modules = fields.List(fields.Nested(ModuleEntrySchema), required=True,
                          validate=validate.Length(min=1, error="A course needs at least one module."))
    completion = fields.Nested(CompletionSchema, required=True)

    @validates_schema(skip_on_field_errors=False)
    def rules_within_the_file(self, data, **kwargs):
        errors: dict = {}
        languages = data.get("languages")
        if languages is not None and "en" not in languages:
            errors["languages"] = ["Must include en: English is required for everything."]
        # With field errors, `data` holds what did load: entries may lack a key.
        modules = data.get("modules") or []
        ids = [m.get("id") for m in modules]
        duplicates = {i: {"id": [f"The module id {m['id']!r} is used twice."]}
                      for i, m in enumerate(modules) if m.get("id") and ids.index(m["id"]) != i}
        if duplicates:
            errors["modules"] = duplicates
        completion = data.get("completion")
        if completion and "modules" in completion and modules and all(ids):
            errors.update(_completion_errors(completion, modules, data.get("delivery")))
        if errors:
            raise ValidationError(errors)


def _completion_errors(completion: dict, modules: list[dict], delivery: str | None) -> dict:
    problems: dict[str, list[str] | dict] = {}
    ids = [m["id"] for m in modules]
    selected = completion["modules"]
    if selected != "all":
        bad = {i: [f"{key!r} is not a module of this course ({', '.join(ids)})."]
               for i, key in enumerate(selected) if key not in ids}
        for i, key in enumerate(selected):
            if i not in bad and selected.index(key) != i:
                bad[i] = [f"{key!r} is listed twice."]
        if bad:
            problems["modules"] = bad
    required = ids if selected == "all" else [k for k in selected if k in ids]
    quizzed = [m["id"] for m in modules if m["id"] in required and m.get("quiz")]
    if completion.get("min_score", 0) > 0 and not quizzed and "modules" not in problems:
        problems["min_score"] = ["No required module has a quiz, so no score can reach it: set 0 or add a quiz."]
    attendance = completion.get("attendance")
    if delivery in (Delivery.IN_PERSON, Delivery.BLENDED) and attendance is None:
        problems["attendance"] = [f"Required for a {delivery} course: the percent of sessions to attend."]
    if delivery == Delivery.ONLINE and attendance is not None:
        problems["attendance"] = ["Only in_person and blended courses have sessions to attend."]
    return {"completion": problems} if problems else {}


class ChoiceSchema(Schema):
    id = fields.String(required=True, validate=ITEM_ID)
    text = fields.String(required=True, validate=validate.Length(1, 1000))
    correct = StrictBoolean(load_default=False)


class QuestionSchema(Schema):
    id = fields.String(required=True, validate=ITEM_ID)
    text = fields.String(required=True, validate=validate.Length(1, 2000))
    explanation = fields.String(load_default="", validate=validate.Length(max=4000))
    choices = fields.List(fields.Nested(ChoiceSchema), required=True,
                          validate=validate.Length(min=2, error="A question needs at least two choices."))
    # Not part of the format: caught to explain how to mark correct choices instead.
    correct = fields.Raw(load_default=None)

    @validates_schema(skip_on_field_errors=False)
    def one_correct_choice_at_least(self, data, **kwargs):
        errors: dict = {}
        choices = data.get("choices")
        stray = data.get("correct")
        if stray is not None:
            named = stray if isinstance(stray, list) else [stray]
            known = [c["id"] for c in choices or [] if "id" in c]
            unknown = [str(n) for n in named if n not in known]
            if unknown:
                errors["correct"] = [
                    f"Names {', '.join(unknown)}, which is not among the choices ({', '.join(known)}). "
                    "Mark the correct choices with `correct = true` on each choice instead."
                ]
            else:
                errors["correct"] = ["Mark the correct choices with `correct = true` on each choice, not on the question."]
        if choices:
            ids = [c.get("id") for c in choices]
            duplicates = {i: {"id": [f"The choice id {c['id']!r} is used twice."]}
                          for i, c in enumerate(choices) if c.get("id") and ids.index(c["id"]) != i}
            if duplicates:
                errors["choices"] = duplicates
            elif all("correct" in c for c in choices) and not any(c["correct"] for c in choices):
                errors["choices"] = ["No choice is marked `correct = true`: at least one must be."]
        if errors:
            raise ValidationError(errors)

    @post_load
    def drop_stray(self, data, **kwargs):
        data.pop("correct", None)
        return data


class QuizFileSchema(Schema):
    """`<lang>/<module-id>.quiz.toml`."""

    questions = fields.List(fields.Nested(QuestionSchema), required=True,
                            validate=validate.Length(min=1, error="A quiz needs at least one question."))

    @validates_schema
    def question_ids_unique(self, data, **kwargs):
        ids = [q["id"] for q in data["questions"]]
        duplicates = {i: {"id": [f"The question id {q['id']!r} is used twice."]}
                      for i, q in enumerate(data["questions"]) if ids.index(q["id"]) != i}
        if duplicates:
            raise ValidationError({"questions": duplicates})


# --- API and pages ---------------------------------------------------------------------


class CourseFilterSchema(Schema):
    """The filters of the catalogue page and of `GET /api/v1/courses` (blank means any)."""

    class Meta:
        unknown = EXCLUDE

    language = fields.String(validate=LANGUAGE, metadata={"description": "Courses complete in this language (en, fr, es, pt...)."})
    audience = fields.Enum(Agency, by_value=True, metadata={"description": "Courses for this agency."})
    competency = fields.String(validate=validate.Length(max=60), metadata={"description": "Courses in this competency area (an id of competencies.toml)."})
    delivery = fields.Enum(Delivery, by_value=True)

    @pre_load
    def blanks(self, data, **kwargs):
        return {k: v for k, v in data.items() if v not in ("", None)}


class CourseListArgsSchema(CourseFilterSchema):
    include_retired = fields.Boolean(load_default=False, metadata={"description": "Also list retired courses."})


class CourseVersionArgsSchema(Schema):
    version = fields.Integer(load_default=None, validate=validate.Range(min=1),
                             metadata={"description": "A version number; default: the current version."})


class CourseSummarySchema(Schema):
    """A course in a list: its current version without modules."""

    slug = fields.Function(lambda v: v.course.slug)
    status = fields.Function(lambda v: str(v.course.status))
    version = fields.Integer(attribute="number")
    title = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "By language code."})
    summary = fields.Dict(keys=fields.String(), values=fields.String())
    audiences = fields.List(fields.String())
    competencies = fields.List(fields.String())
    delivery = fields.String()
    hours = fields.Float()
    access = fields.String()
    languages = fields.List(fields.String(), metadata={"description": "Languages in which every module (and quiz) exists."})
    prerequisites = fields.List(fields.String(), metadata={"description": "Slugs of the courses to complete first."})
    modules = fields.Function(lambda v: len(v.modules))
    minutes = fields.Function(lambda v: sum(m.minutes for m in v.modules))


class ModuleSummarySchema(Schema):
    """A module without its text and without its quiz's questions (never the answers)."""

    key = fields.String()
    position = fields.Integer()
    title = fields.Dict(keys=fields.String(), values=fields.String())
    minutes = fields.Integer()
    languages = fields.Function(lambda m: sorted(m.content))
    quiz = fields.Function(lambda m: None if m.quiz is None else {
        "questions": len(m.quiz.get("en", [])), "pass_mark": m.pass_mark, "attempts": m.attempts,
    })


class CompletionRuleSchema(Schema):
    modules = fields.Raw(metadata={"description": '"all" or a list of module keys.'})
    min_score = fields.Integer()
    attendance = fields.Integer(allow_none=True)


class CourseDetailSchema(CourseSummarySchema):
    """One version of a course with its modules and completion rule."""

    current_version = fields.Function(lambda v: v.course.current_version.number if v.course.current_version else None)
    versions = fields.Function(lambda v: [x.number for x in v.course.versions])
    created_at = fields.AwareDateTime()
    retired_at = fields.Function(lambda v: v.course.retired_at.isoformat() if v.course.retired_at else None)
    content_hash = fields.String()
    completion = fields.Nested(CompletionRuleSchema)
    modules = fields.List(fields.Nested(ModuleSummarySchema))
