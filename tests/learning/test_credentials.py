"""Certificates and Open Badges: the PDF read back, the badge verified with another JOSE
library against the published keys only, the public verification page, revocation."""

import datetime as dt
import io
import json
from urllib.parse import urlsplit

import pytest
from jwcrypto import jwk, jws

from tests.conftest import NOW, count
from tests.learning.conftest import finish_basics
from vcollege.core.models import AuditEntry, KeyPurpose
from vcollege.core.permissions import Actor
from vcollege.errors import Conflict, Forbidden, InvalidInput
from vcollege.learning.models import Credential
from vcollege.learning.service import normalise_code, revoke_credential

LTI = "lti:https://lms.example.org"


@pytest.fixture
def completed(session, courses, learner):
    return finish_basics(session, learner, courses["cites-basics"]).completion


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_certificate_pdf_has_name_title_in_the_learners_language_and_code(client, session, sign_in, make_person, courses):
    from pypdf import PdfReader

    from vcollege.core.models import Agency

    learner = make_person("Núria Puig", party="AD", agency=Agency.CUSTOMS, preferred_language="es")
    completion = finish_basics(session, learner, courses["cites-basics"]).completion
    sign_in(learner, via=LTI)
    code = completion.credential.code
    response = client.get(f"/learn/certificates/{code}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "Núria Puig" in text
    assert code in text
    assert "Conceptos básicos de la CITES" in text  # the course title in Spanish
    assert "Certificado de finalización" in text  # the labels in Spanish too
    assert f"/verify/{code}" in text


def test_another_learner_cannot_download_my_certificate(client, completed, make_person, sign_in):
    sign_in(make_person("Someone else"), via=LTI)
    assert client.get(f"/learn/certificates/{completed.credential.code}.pdf").status_code == 404
    assert client.get(f"/learn/badges/{completed.credential.code}.jwt").status_code == 404


def test_badge_verifies_against_the_published_keys_only(client, session, completed, sign_in, learner):
    sign_in(learner, via=LTI)
    code = completed.credential.code
    response = client.get(f"/learn/badges/{code}.jwt")
    assert response.status_code == 200
    token = response.get_data(as_text=True)

    # A verifier knows only the token: the header's kid is a URL it dereferences to the key.
    header = json.loads(jws.base64url_decode(token.split(".")[0]))
    assert header["alg"] == "RS256" and header["typ"] == "JWT" and set(header) == {"alg", "kid", "typ"}
    key_document = client.get(_path(header["kid"]))
    assert key_document.status_code == 200
    public = jwk.JWK(**key_document.get_json())
    assert not public.has_private
    # The same key is in the issuer's key set.
    jwks = client.get("/credentials/jwks.json").get_json()
    assert key_document.get_json()["kid"] in [k["kid"] for k in jwks["keys"]]

    verifier = jws.JWS()
    verifier.deserialize(token)
    verifier.verify(public)  # raises if the signature is wrong
    claims = json.loads(verifier.payload)

    vc = claims["vc"]
    assert vc["@context"] == ["https://www.w3.org/ns/credentials/v2",
                              "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                              "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"]
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert claims["iss"] == vc["issuer"]["id"] and vc["issuer"]["type"] == ["Profile"]
    assert claims["jti"] == vc["id"] and vc["id"].startswith("urn:uuid:")
    assert claims["sub"] == vc["credentialSubject"]["id"]
    assert claims["nbf"] == int(NOW.timestamp()) and vc["validFrom"] == "2026-11-28T12:00:00Z"
    assert {k: claims[k] for k in vc} == vc  # the VC Data Model 2.0 form: the credential is the payload
    subject = vc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"] and achievement["name"] == "CITES basics"
    assert "quiz" in achievement["criteria"]["narrative"] and "70%" in achievement["criteria"]["narrative"]
    assert subject["result"][0]["value"] == "100"
    assert subject["identifier"][0]["identityHash"] == "Wanjiru Kamau"
    assert learner.email not in token  # the e-mail is only there hashed

    # The issuer profile and the achievement are published where their ids point; the
    # profile names the signing key (by the header's kid) and links the key set.
    profile = client.get(_path(vc["issuer"]["id"]))
    assert profile.status_code == 200 and profile.get_json()["type"] == ["Profile"]
    methods = {m["id"]: m for m in profile.get_json()["verificationMethod"]}
    assert methods[header["kid"]]["publicKeyJwk"] == key_document.get_json()
    assert methods[header["kid"]]["controller"] == vc["issuer"]["id"]
    assert header["kid"] in profile.get_json()["assertionMethod"]
    [key_set] = profile.get_json()["service"]
    assert key_set["type"] == "JsonWebKeySet" and client.get(_path(key_set["serviceEndpoint"])).get_json() == jwks
    published = client.get(_path(achievement["id"])).get_json()
    assert published["criteria"]["narrative"] == achievement["criteria"]["narrative"]

    # The status entry resolves to the issuer's revocation list, which does not list this badge...
    status = vc["credentialStatus"]
    assert status["type"] == "1EdTechRevocationList"
    listing = client.get(_path(status["id"]))
    assert listing.status_code == 200 and listing.headers["Access-Control-Allow-Origin"] == "*"
    assert listing.get_json()["issuer"] == vc["issuer"]["id"]
    assert vc["id"] not in [entry["id"] for entry in listing.get_json()["revokedCredentials"]]
    # ... until it is revoked: then it does, with the reason and the date.
    revoke_credential(session, completed.credential, reason="Issued in error", actor=Actor.operator("tests"),
                      now=NOW + dt.timedelta(days=3))
    session.commit()
    revoked_list = client.get(_path(status["id"])).get_json()
    [entry] = [e for e in revoked_list["revokedCredentials"] if e["id"] == vc["id"]]
    assert entry == {"id": vc["id"], "revoked": True, "revokedAt": "2026-12-01T12:00:00Z"}
    assert "Issued in error" not in str(revoked_list)  # the reason stays in the audit log

    # A tampered payload fails verification.
    head, body, signature = token.split(".")
    forged = dict(claims, vc={**vc, "name": "Something else"})
    forged_body = jws.base64url_encode(json.dumps(forged).encode())
    tampered = jws.JWS()
    tampered.deserialize(".".join([head, forged_body, signature]))
    with pytest.raises(jws.InvalidJWSSignature):
        tampered.verify(public)


def test_badges_stay_verifiable_after_a_key_rotation(client, session, completed, sign_in, learner):
    from vcollege.core.keys import rotate_signing_key

    sign_in(learner, via=LTI)
    first = client.get(f"/learn/badges/{completed.credential.code}.jwt").get_data(as_text=True)
    rotate_signing_key(session, KeyPurpose.CREDENTIALS, now=NOW + dt.timedelta(days=400),
                       actor=Actor.operator("tests"))
    session.commit()
    header = json.loads(jws.base64url_decode(first.split(".")[0]))
    public = jwk.JWK(**client.get(_path(header["kid"])).get_json())
    verifier = jws.JWS()
    verifier.deserialize(first)
    verifier.verify(public)
    assert len(client.get("/credentials/jwks.json").get_json()["keys"]) == 2


def test_verification_page_says_valid_then_revoked_with_the_date(client, session, completed):
    code = completed.credential.code
    page = client.get(f"/verify/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Valid" in html and "Wanjiru Kamau" in html and "CITES basics" in html
    assert completed.person.email not in html  # no more than the certificate shows
    assert client.get(f"/verify/{code.lower().replace('-', '')}").status_code == 302
    assert client.get("/verify/AAAA-BBBB-CCCC").status_code == 404

    revoke_credential(session, completed.credential, reason="Obtained by fraud", actor=Actor.operator("tests"),
                      now=NOW + dt.timedelta(days=3))
    session.commit()
    html = client.get(f"/verify/{code}").get_data(as_text=True)
    assert "Revoked on Dec 1, 2026" in html
    assert "fraud" not in html  # the reason is for the Secretariat, not the public


def test_revocation_needs_the_secretariat_and_a_reason(session, completed, trainer):
    credential = completed.credential
    with pytest.raises(Forbidden):
        revoke_credential(session, credential, reason="Obtained by fraud", actor=trainer, now=NOW)
    with pytest.raises(InvalidInput):
        revoke_credential(session, credential, reason="", actor=Actor.operator("tests"), now=NOW)
    assert credential.revoked_at is None
    revoke_credential(session, credential, reason="Obtained by fraud", actor=Actor.operator("tests"), now=NOW)
    with pytest.raises(Conflict):
        revoke_credential(session, credential, reason="again", actor=Actor.operator("tests"), now=NOW)
    assert count(session, AuditEntry, AuditEntry.action == "credential.revoked") == 1


def test_revoked_badge_and_certificate_are_no_longer_handed_out(client, session, completed, sign_in, learner):
    revoke_credential(session, completed.credential, reason="Obtained by fraud", actor=Actor.operator("tests"), now=NOW)
    session.commit()
    sign_in(learner, via=LTI)
    assert client.get(f"/learn/badges/{completed.credential.code}.jwt").status_code == 409
    assert client.get(f"/learn/badges/{completed.credential.code}.json").status_code == 409
    assert client.get(f"/learn/certificates/{completed.credential.code}.pdf").status_code == 403


def test_secretariat_revokes_on_its_page(client, session, completed, make_staff, sign_in, csrf):
    from vcollege.core.models import Role

    sign_in(make_staff(Role.SECRETARIAT))
    code = completed.credential.code
    page = client.get(f"/credentials/manage?code={code}")
    assert page.status_code == 200 and "Wanjiru Kamau" in page.get_data(as_text=True)
    token = csrf(f"/credentials/manage?code={code}")
    refused = client.post(f"/credentials/manage/{code}/revoke", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert session.get(Credential, completed.credential.id).revoked_at is None
    done = client.post(f"/credentials/manage/{code}/revoke", data={"csrf_token": token, "reason": "Identity fraud"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Credential, completed.credential.id).revoked_reason == "Identity fraud"


def test_trainer_cannot_reach_the_revocation_page(client, make_staff, sign_in):
    from vcollege.core.models import Role

    sign_in(make_staff(Role.TRAINER))
    assert client.get("/credentials/manage").status_code == 403


def test_codes_are_typed_forgivingly():
    assert normalise_code("7kq2 mx9d 4htr") == "7KQ2-MX9D-4HTR"
    assert normalise_code("7KQ2-MX9D-4HTO") == "7KQ2-MX9D-4HT0"
    assert normalise_code("too short") == ""


def test_certificate_badge_and_verification_keep_the_name_at_completion_and_name_waived_modules(
        client, session, sign_in, make_person, courses, trainer):
    from pypdf import PdfReader

    from tests.learning.conftest import enrol, learner_actor
    from vcollege.core.models import Agency
    from vcollege.core.people import update_person
    from vcollege.learning.service import mark_read, waive_module

    learner = make_person("Núria Puig", party="AD", agency=Agency.CUSTOMS, preferred_language="es")
    enrolment = enrol(session, learner, courses["cites-basics"])
    waive_module(session, enrolment, "appendices", reason="Passed the regional exam", actor=trainer, now=NOW)
    completion = mark_read(session, enrolment, "authorities", actor=learner_actor(learner), now=NOW).completion
    assert completion.learner_name == "Núria Puig" and completion.waived_modules == ["appendices"]
    update_person(session, learner, actor=Actor.operator("tests"), now=NOW, name="Núria Puig i Soler")
    session.commit()
    code = completion.credential.code

    sign_in(learner, via=LTI)
    text = PdfReader(io.BytesIO(client.get(f"/learn/certificates/{code}.pdf").data)).pages[0].extract_text()
    assert "Núria Puig" in text and "Soler" not in text
    assert "Los tres Apéndices" in text and "appendices" not in text  # the title, in Spanish, not the key

    page = client.get(f"/verify/{code}").get_data(as_text=True)
    page = page[page.index('<dl class="facts">'):page.index("</dl>")]  # the header names whoever is signed in
    assert "Núria Puig" in page and "Soler" not in page
    assert "Los tres Apéndices" in page and ": appendices" not in page

    badge = client.get(f"/learn/badges/{code}.json").get_json()
    subject = badge["credentialSubject"]
    assert subject["identifier"][0]["identityHash"] == "Núria Puig"
    assert '"The three Appendices"' in subject["narrative"]

    api = client.get("/api/v1/completions", headers=_completions_token(session))
    [row] = api.get_json()["items"]
    assert row["learner_name"] == "Núria Puig" and row["name"] == "Núria Puig i Soler"


def _completions_token(session):
    from vcollege.core.accounts import create_api_token

    _token, raw = create_api_token(session, name="reader", scopes=["completions:read"], actor=Actor.operator("tests"),
                                   now=NOW)
    session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.parametrize("name", ["فاطمة الزهراء عبد الله", "יעל כהן"])
def test_certificate_draws_right_to_left_names_joined_and_in_order(client, session, sign_in, make_person, courses,
                                                                   name):
    import unicodedata

    from pypdf import PdfReader

    learner = make_person(name, party="EG", preferred_language="en")
    code = finish_basics(session, learner, courses["cites-basics"]).completion.credential.code
    sign_in(learner, via=LTI)
    reader = PdfReader(io.BytesIO(client.get(f"/learn/certificates/{code}.pdf").data))
    text = unicodedata.normalize("NFKC", reader.pages[0].extract_text())  # presentation forms back to letters
    assert name in text and "the verification page" not in text
    assert name in reader.metadata.title


def test_certificate_of_a_name_the_font_cannot_draw_points_to_the_verification_page(client, session, sign_in,
                                                                                    make_person, courses):
    from pypdf import PdfReader

    learner = make_person("王小明", party="CN", preferred_language="en")
    code = finish_basics(session, learner, courses["cites-basics"]).completion.credential.code
    sign_in(learner, via=LTI)
    reader = PdfReader(io.BytesIO(client.get(f"/learn/certificates/{code}.pdf").data))
    text = reader.pages[0].extract_text()
    assert "is shown on the verification page" in text and text.count(code) == 3 and f"/verify/{code}" in text
    assert "王小明" in reader.metadata.title and "王小明" in reader.metadata.subject  # kept exact, out of sight
    facts = client.get(f"/verify/{code}").get_data(as_text=True)
    assert "王小明" in facts[facts.index('<dl class="facts">'):]
