"""marshmallow schemas of the LTI area: the platform form and CLI input, score rows."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

URL = validate.URL(require_tld=False, schemes={"http", "https"}, error="Must be an http(s) URL.")


class PlatformSchema(Schema):
    """Registering a platform by hand (Secretariat page, `vcollege lti platform add`)."""

    class Meta:
        unknown = EXCLUDE

    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    issuer = fields.String(required=True, validate=validate.Length(min=1, max=255))
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    deployment_ids = fields.List(fields.String(validate=validate.Length(min=1, max=255)), load_default=list)
    auth_login_url = fields.String(required=True, validate=[validate.Length(max=1000), URL])
    auth_token_url = fields.String(required=True, validate=[validate.Length(max=1000), URL])
    key_set_url = fields.String(required=True, validate=[validate.Length(max=1000), URL])
    auth_audience = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))

    @pre_load
    def blanks(self, data, **kwargs):
        data = {k: (v.strip() if isinstance(v, str) else v) for k, v in dict(data).items()}
        for name in ("name", "auth_audience"):
            if data.get(name) == "":
                data[name] = None
        raw = data.get("deployment_ids")
        if isinstance(raw, str):
            data["deployment_ids"] = [d.strip() for d in raw.replace(",", "\n").splitlines() if d.strip()]
        return data


class FrameOriginsSchema(Schema):
    """The origins the Secretariat allows to frame the tool for a platform: one per line.
    Whether each is an acceptable origin is the service's rule (it depends on the setting)."""

    class Meta:
        unknown = EXCLUDE

    extra_frame_origins = fields.List(fields.String(validate=validate.Length(max=255)), load_default=list)

    @pre_load
    def lines(self, data, **kwargs):
        data = dict(data)
        raw = data.get("extra_frame_origins")
        if raw is None or isinstance(raw, str):
            data["extra_frame_origins"] = [line.strip() for line in (raw or "").splitlines() if line.strip()]
        return data


class DeploymentSchema(Schema):
    deployment_id = fields.String(required=True, validate=validate.Length(min=1, max=255))


class DeepLinkArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    language = fields.String(validate=validate.Length(max=12))
    audience = fields.String(validate=validate.Length(max=60))
    competency = fields.String(validate=validate.Length(max=120))

    @pre_load
    def blanks(self, data, **kwargs):
        return {k: v for k, v in dict(data).items() if v not in ("", None)}
