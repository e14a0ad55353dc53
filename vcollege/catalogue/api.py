"""`/api/v1/courses`: the catalogue as JSON (never the quiz answers: not even the questions)."""

from __future__ import annotations

from flask_smorest import Blueprint

from vcollege.api import (
    PageArgsSchema,
    ProblemSchema,
    page_of,
    paged_response,
    paginate_list,
    protected,
)
from vcollege.catalogue.schemas import (
    CourseDetailSchema,
    CourseListArgsSchema,
    CourseSummarySchema,
    CourseVersionArgsSchema,
)
from vcollege.catalogue.service import COURSES_READ, get_version, list_courses
from vcollege.extensions import db

blp = Blueprint("courses_api", __name__, url_prefix="/api/v1/courses", description="The course catalogue")


class CourseListQuerySchema(CourseListArgsSchema, PageArgsSchema):
    pass


@blp.get("")
@protected(blp, COURSES_READ)
@blp.arguments(CourseListQuerySchema, location="query", as_kwargs=True)
@blp.response(200, page_of(CourseSummarySchema))
def list_all_courses(page: int, per_page: int, **filters):
    """The courses (current versions), by slug, filtered by language, audience, competency and delivery.

    Texts are objects by language code; `languages` lists the languages in which every module
    and quiz exists. Retired courses are left out unless `include_retired=true`.
    """
    versions = list_courses(db.session, **filters)
    link_args = {k: v for k, v in filters.items() if v}
    return paged_response(paginate_list(versions, page, per_page), "courses_api.list_all_courses", link_args)


@blp.get("/<slug>")
@protected(blp, COURSES_READ)
@blp.arguments(CourseVersionArgsSchema, location="query", as_kwargs=True)
@blp.response(200, CourseDetailSchema)
@blp.alt_response(404, schema=ProblemSchema, description="No such course, or no such version of it")
def get_course_version(slug: str, version: int | None = None):
    """One course: its current version, or `?version=N`, with its modules (titles and
    minutes, no text and no quiz questions) and completion rule. Retired courses stay readable."""
    return get_version(db.session, slug, version)
