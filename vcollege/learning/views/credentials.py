"""Certificates and badges: downloads, the public verification page, the issuer's
published documents, and the Secretariat's revocation page."""

from __future__ import annotations

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, format_date, format_decimal
from flask_babel import gettext as _
from marshmallow import ValidationError

from vcollege.auth import current_actor, require_permission, require_sign_in
from vcollege.catalogue.service import get_version, localized
from vcollege.errors import Forbidden, NotFound
from vcollege.extensions import db, utcnow
from vcollege.learning.certificates import CertificateText, render_certificate
from vcollege.learning.credentials import (
    achievement,
    badge_credential,
    get_credential,
    issuer_profile,
    normalise_code,
    public_key,
    refuse_revoked,
    revocation_list,
    revoke_credential,
    signed_badge,
    waived_module_titles,
)
from vcollege.learning.permissions import (
    COMPLETIONS_READ,
    CREDENTIALS_REVOKE,
)
from vcollege.learning.present import issuer_urls
from vcollege.learning.schemas import RevokeBodySchema
from vcollege.learning.views import HOME_SECTIONS, _person, bp  # noqa: F401
from vcollege.web.views import form_data


def _own_credential(code: str):
    credential = get_credential(db.session, code)
    actor = current_actor()
    if credential.completion.person_id != actor.person_id and not actor.can(COMPLETIONS_READ):
        raise NotFound("No certificate has this verification code.")
    return credential


def certificate_text(credential, *, revoked_note: str | None = None) -> CertificateText:
    """The texts of a certificate in the learner's language (the interface's when not offered)."""
    completion = credential.completion
    version = completion.course_version
    language = completion.person.preferred_language or completion.language or "en"
    interface = language.split("-")[0] if language.split("-")[0] in current_app.config["LANGUAGES"] else "en"
    with force_locale(interface):
        hours = format_decimal(float(version.hours))
        if completion.waived:
            result = _("Completed by waiver of the whole course")
        else:
            result = _("Final score: %(score)s%%", score=format_decimal(completion.score))
        waived_note = None
        if completion.waived_modules and not completion.waived:
            waived_note = _("Modules waived by a trainer: %(modules)s",
                            modules=", ".join(waived_module_titles(completion, language)))
        return CertificateText(
            college=_("CITES Virtual College"), heading=_("Certificate of completion"),
            certifies=_("This certifies that"), name=completion.learner_name,
            completed=_("has completed the course"), course_title=localized(version.title, language)[1],
            details=_("on %(day)s · %(hours)s hours of study · version %(version)d", day=format_date(completion.completed_at),
                      hours=hours, version=version.number),
            result=result, waived_note=waived_note, code_label=_("Verification code"), code=credential.code,
            verify_label=_("Check this certificate at:"), verify_url=issuer_urls().verify(credential.code),
            revoked_note=revoked_note, language=interface,
            name_elsewhere=_("The holder's name, in a script this certificate cannot print, is shown on the "
                             "verification page."),
            course_title_fallback=localized(version.title, "en")[1],
        )


@bp.get("/learn/certificates/<code>.pdf")
@require_sign_in
def certificate(code: str):
    credential = _own_credential(code)
    if credential.revoked:
        raise Forbidden(_("This certificate was revoked on %(day)s.", day=format_date(credential.revoked_at)))
    pdf = render_certificate(certificate_text(credential))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="certificate-{credential.code}.pdf"',
        "Cache-Control": "private, no-store",
    })


@bp.get("/learn/badges/<code>.jwt")
@require_sign_in
def badge(code: str):
    credential = _own_credential(code)
    token = signed_badge(db.session, credential.completion, issuer_urls(), now=utcnow())
    db.session.commit()  # the first credential key is made on first use
    return Response(token, mimetype="application/vc+jwt", headers={
        "Content-Disposition": f'attachment; filename="open-badge-{credential.code}.jwt"',
        "Cache-Control": "private, no-store",
    })


@bp.get("/learn/badges/<code>.json")
@require_sign_in
def badge_json(code: str):
    credential = _own_credential(code)
    refuse_revoked(credential)
    response = jsonify(badge_credential(credential.completion, issuer_urls()))
    response.mimetype = "application/ld+json"
    return response


# Public verification and the issuer's documents -------------------------------------------


@bp.get("/verify")
def verify_form():
    code = request.args.get("code", "")
    if code:
        normal = normalise_code(code)
        if normal:
            return redirect(url_for("learning.verify", code=normal))
        return render_template("learning/verify_form.html", code=code,
                               errors={"code": [_("A verification code has 12 letters and digits, such as 7KQ2-MX9D-4HTR.")]}), 422
    return render_template("learning/verify_form.html", code="", errors={})


@bp.get("/verify/<code>")
def verify(code: str):
    normal = normalise_code(code)
    if normal and normal != code:
        return redirect(url_for("learning.verify", code=normal))
    try:
        credential = get_credential(db.session, code)
    except NotFound:
        return render_template("learning/verify.html", credential=None, code=code), 404
    completion = credential.completion
    language = completion.person.preferred_language or completion.language or "en"
    return render_template(
        "learning/verify.html", credential=credential, completion=completion, code=credential.code,
        title=localized(completion.course_version.title, language),
        waived_modules=waived_module_titles(completion, language),
    )


def _json_ld(document: dict) -> Response:
    response = jsonify(document)
    response.mimetype = "application/ld+json"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/credentials/issuer")
def issuer():
    from vcollege.core.keys import published_keys
    from vcollege.core.models import KeyPurpose

    keys = published_keys(db.session, KeyPurpose.CREDENTIALS, utcnow())
    db.session.commit()  # the first key is made on first use
    return _json_ld(issuer_profile(issuer_urls(), keys))


@bp.get("/credentials/status/revocations")
def revocations():
    """The revoked badges (1EdTech Revocation List Status Method), read by badge verifiers."""
    response = jsonify(revocation_list(db.session, issuer_urls()))
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/credentials/jwks.json")
def jwks():
    from vcollege.core.keys import published_jwks
    from vcollege.core.models import KeyPurpose

    document = published_jwks(db.session, KeyPurpose.CREDENTIALS, utcnow())
    db.session.commit()  # the first key is made on first use
    response = jsonify(document)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/credentials/keys/<kid>")
def key(kid: str):
    response = jsonify(public_key(db.session, kid, now=utcnow()))
    response.mimetype = "application/jwk+json"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/credentials/achievements/<slug>/<int:number>")
def achievement_document(slug: str, number: int):
    version = get_version(db.session, slug, number)
    return _json_ld({"@context": ["https://www.w3.org/ns/credentials/v2",
                                  "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
                     **achievement(version, issuer_urls())})


# Trainers ---------------------------------------------------------------------------------

@bp.get("/credentials/manage")
@require_permission(CREDENTIALS_REVOKE)
def credential_admin():
    code = request.args.get("code", "").strip()
    credential = None
    errors = {}
    if code:
        try:
            credential = get_credential(db.session, code)
        except NotFound:
            errors = {"code": [_("No certificate has this verification code.")]}
    return render_template("learning/credential_admin.html", code=code, credential=credential, errors=errors,
                           form={}), (404 if errors else 200)


@bp.post("/credentials/manage/<code>/revoke")
@require_permission(CREDENTIALS_REVOKE)
def credential_revoke(code: str):
    credential = get_credential(db.session, code)
    form = form_data()
    try:
        data = RevokeBodySchema().load(form)
    except ValidationError as exc:
        return render_template("learning/credential_admin.html", code=credential.code, credential=credential,
                               errors=exc.messages, form=form), 422
    revoke_credential(db.session, credential, reason=data["reason"], actor=current_actor(), now=utcnow())
    db.session.commit()
    flash(_("The credential %(code)s is revoked.", code=credential.code), "success")
    return redirect(url_for("learning.credential_admin", code=credential.code))
