"""marshmallow schemas of the core area: the Parties file, API bodies and query args, forms.

Schemas validate shape and format only; whether a Party or person exists is a service rule.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from vcollege.core.models import Agency, CitesRegion, ComplianceProcedure, Role

ISO2 = validate.Regexp(r"^[A-Z]{2}$", error="Must be two capital letters (ISO 3166 alpha-2).")
ISO3 = validate.Regexp(r"^[A-Z]{3}$", error="Must be three capital letters (ISO 3166 alpha-3).")
LANGUAGE = validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", error="Must be a language code such as en, fr or pt-BR.")


class Flag(fields.Field):
    """A 0/1 column of the Parties file."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value in ("1", 1, True):
            return True
        if value in ("0", 0, False):
            return False
        raise ValidationError("Must be 0 or 1.")


def _blank_to_none(data: dict, names: tuple[str, ...]) -> dict:
    return {k: (None if k in names and v in ("", None) else v) for k, v in data.items()}


class PartyRowSchema(Schema):
    """One row of `parties.csv`."""

    class Meta:
        unknown = EXCLUDE

    iso2 = fields.String(required=True, validate=ISO2)
    iso3 = fields.String(load_default=None, allow_none=True, validate=ISO3)
    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    cites_region = fields.Enum(CitesRegion, by_value=True, required=True)
    entry_into_force = fields.Date(required=True)
    ldc = Flag(required=True, attribute="ldc_listed")
    lldc = Flag(required=True)
    sids = Flag(required=True)
    ldc_graduation = fields.Date(load_default=None, allow_none=True)

    @pre_load
    def blanks(self, data, **kwargs):
        return _blank_to_none(data, ("iso3", "ldc_graduation"))


PARTY_FILE_COLUMNS = ("iso2", "iso3", "name", "cites_region", "entry_into_force", "ldc", "lldc", "sids", "ldc_graduation")


class ComplianceCaseSchema(Schema):
    id = fields.Integer(dump_only=True)
    procedure = fields.Enum(ComplianceProcedure, by_value=True, required=True)
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    started_on = fields.Date(required=True)
    ended_on = fields.Date(dump_only=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))

    @pre_load
    def blanks(self, data, **kwargs):
        return _blank_to_none(dict(data), ("reference", "note"))


class EndComplianceSchema(Schema):
    ended_on = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class PartySchema(Schema):
    """A Party as the API shows it, with its priority categories on `as_of`."""

    iso2 = fields.String()
    iso3 = fields.String(allow_none=True)
    name = fields.String()
    cites_region = fields.Enum(CitesRegion, by_value=True)
    entry_into_force = fields.Date()
    ldc = fields.Boolean(attribute="is_ldc", metadata={"description": "Least Developed Country on `as_of`"})
    ldc_graduation = fields.Date(allow_none=True)
    lldc = fields.Boolean()
    sids = fields.Boolean()
    recently_acceded = fields.Boolean()
    priority_categories = fields.List(fields.String())
    under_compliance_procedure = fields.Boolean()
    compliance_cases = fields.List(fields.Nested(ComplianceCaseSchema))
    as_of = fields.Date()


class PartyQueryArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    region = fields.Enum(CitesRegion, by_value=True)
    category = fields.String(
        validate=validate.OneOf(["recently_acceded", "ldc", "lldc", "sids", "any", "compliance"]),
        metadata={"description": "Only Parties in this priority category on `as_of`; `any` for any of the four"},
    )
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "Part of the name or code"})
    as_of = fields.Date(
        validate=validate.Range(min=dt.date(1975, 7, 1), error="Must be on or after 1975-07-01, when CITES entered into force."),
        metadata={"description": "The day the categories are computed for (default: today)"},
    )


class PersonSchema(Schema):
    """Creating or editing a person (CLI and staff pages)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True)
    preferred_language = fields.String(load_default=None, allow_none=True, validate=LANGUAGE)
    party = fields.String(load_default=None, allow_none=True, validate=ISO2, metadata={"description": "ISO2 code of the Party"})
    agency = fields.Enum(Agency, by_value=True, load_default=None, allow_none=True)
    job_title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))

    @pre_load
    def blanks(self, data, **kwargs):
        data = _blank_to_none(dict(data), ("email", "preferred_language", "party", "agency", "job_title"))
        if data.get("party"):
            data["party"] = data["party"].upper()
        return data


class StaffAccountSchema(PersonSchema):
    email = fields.Email(required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=12, max=200, error="Use at least 12 characters."))
    roles = fields.List(fields.Enum(Role, by_value=True), required=True, validate=validate.Length(min=1))

    @validates_schema
    def staff_roles(self, data, **kwargs):
        if not set(data.get("roles", [])) & {Role.TRAINER, Role.SECRETARIAT}:
            raise ValidationError("A staff account needs the trainer or secretariat role.", "roles")


class LoginSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    next = fields.String(load_default=None)


class TokenCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    scopes = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    expires_in_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=3650))


class PeopleQueryArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    role = fields.Enum(Role, by_value=True)
    q = fields.String(validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))

    @pre_load
    def blanks(self, data, **kwargs):
        return {k: v for k, v in data.items() if v not in ("", None)}


class AuditQueryArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    action = fields.String(validate=validate.Length(max=80))
    actor = fields.String(validate=validate.Length(max=200))
    target_type = fields.String(validate=validate.Length(max=60))
    target_id = fields.String(validate=validate.Length(max=60))
    since = fields.Date()
    until = fields.Date()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))

    @pre_load
    def blanks(self, data, **kwargs):
        return {k: v for k, v in data.items() if v not in ("", None)}


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.AwareDateTime()
    actor_label = fields.String()
    action = fields.String()
    target_type = fields.String()
    target_id = fields.String()
    target_label = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    detail = fields.Dict()
