"""`/api/v1/parties`: the Parties with their priority categories on a day."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from vcollege.api import (
    PageArgsSchema,
    ProblemSchema,
    page_of,
    paged_response,
    paginate_list,
    protected,
)
from vcollege.core.parties import get_party, list_standings, standing
from vcollege.core.permissions import PARTIES_READ
from vcollege.core.schemas import PartyQueryArgsSchema, PartySchema
from vcollege.extensions import db, utcnow

blp = Blueprint("parties_api", __name__, url_prefix="/api/v1/parties", description="The Parties to CITES")


class PartyListArgsSchema(PartyQueryArgsSchema, PageArgsSchema):
    pass


@blp.get("")
@protected(blp, PARTIES_READ)
@blp.arguments(PartyListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, page_of(PartySchema))
def list_parties(page: int, per_page: int, **filters):
    """List the Parties, filtered by region, name and priority category on `as_of`."""
    on = filters.pop("as_of", None) or utcnow().date()
    rows = list_standings(
        db.session, on=on, window_years=current_app.config["RECENTLY_ACCEDED_YEARS"], **filters
    )
    return paged_response(paginate_list(rows, page, per_page), "parties_api.list_parties", {**filters, "as_of": on})


@blp.get("/<iso2>")
@protected(blp, PARTIES_READ)
@blp.arguments(PartyQueryArgsSchema(only=("as_of",)), location="query", as_kwargs=True)
@blp.response(200, PartySchema)
@blp.alt_response(404, schema=ProblemSchema, description="No such Party")
def get_one_party(iso2: str, as_of=None):
    """One Party by its ISO 3166 alpha-2 code (`EU` for the European Union)."""
    on = as_of or utcnow().date()
    return standing(get_party(db.session, iso2), on, current_app.config["RECENTLY_ACCEDED_YEARS"])
