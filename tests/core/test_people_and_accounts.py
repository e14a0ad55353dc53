import datetime as dt

import pytest
from sqlalchemy import select

from tests.conftest import NOW, PASSWORD, count
from vcollege.core.accounts import (
    authenticate,
    authenticate_token,
    create_api_token,
    create_staff_account,
    revoke_api_token,
    set_account_active,
    set_password,
)
from vcollege.core.models import ApiToken, AuditEntry, Person, Role, StaffAccount
from vcollege.core.people import create_person, grant_role, revoke_role, update_person
from vcollege.core.permissions import Actor
from vcollege.errors import Conflict, Forbidden, InvalidInput, NotFound


def test_create_person_with_party_and_audit(session, operator):
    person = create_person(session, name=" Awa Ndiaye ", email="Awa@Example.org", party="sn",
                           actor=operator, now=NOW)
    assert person.name == "Awa Ndiaye"
    assert person.email == "awa@example.org"
    assert person.party.iso2 == "SN"
    assert person.role_names == {Role.LEARNER}
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(person.id))).all()
    assert actions == ["person.created", "person.role_granted"]


def test_unknown_party_refused_and_nothing_written(session, operator):
    before = count(session, Person)
    with pytest.raises(NotFound) as caught:
        create_person(session, name="X", party="QQ", actor=operator, now=NOW)
    assert "party" in caught.value.errors
    assert count(session, Person) == before


def test_only_secretariat_power_grants_the_secretariat_role(session, operator, make_person, make_staff):
    learner = make_person()
    trainer = Actor.for_person(make_staff(Role.TRAINER))
    with pytest.raises(Forbidden):
        grant_role(session, learner, Role.SECRETARIAT, actor=trainer, now=NOW)
    lms = Actor.for_lti(make_staff(Role.SECRETARIAT), "https://lms.example.org")
    with pytest.raises(Forbidden):
        grant_role(session, learner, Role.SECRETARIAT, actor=lms, now=NOW)
    assert not learner.has_role(Role.SECRETARIAT)
    officer = Actor.for_person(make_staff(Role.SECRETARIAT))
    assert grant_role(session, learner, Role.SECRETARIAT, actor=officer, now=NOW, reason="joined")
    assert learner.has_role(Role.SECRETARIAT)
    assert not grant_role(session, learner, Role.SECRETARIAT, actor=officer, now=NOW)  # already held


def test_lti_actor_never_holds_secretariat_permissions(make_staff):
    officer = make_staff(Role.SECRETARIAT)
    assert Actor.for_person(officer).can("audit:read")
    assert not Actor.for_lti(officer, "https://lms.example.org").can("audit:read")


def test_an_lms_session_holds_only_the_permissions_marked_for_lms(make_staff):
    """An LMS instructor is a trainer in the LMS's own courses, not over everyone's records."""
    trainer = make_staff(Role.TRAINER)
    staff, lms = Actor.for_person(trainer), Actor.for_lti(trainer, "https://lms.example.org")
    assert staff.can("enrolments:manage") and staff.can("people:read")
    assert not lms.can("enrolments:manage") and not lms.can("enrolments:read") and not lms.can("people:read")
    assert lms.can("courses:read")


def test_revoking_the_last_role_is_refused(session, operator, make_person):
    person = make_person()
    with pytest.raises(Conflict):
        revoke_role(session, person, Role.LEARNER, actor=operator, now=NOW)
    grant_role(session, person, Role.TRAINER, actor=operator, now=NOW)
    assert revoke_role(session, person, Role.LEARNER, actor=operator, now=NOW, reason="now a trainer")
    assert person.role_names == {Role.TRAINER}


def test_update_person_audits_changes_and_needs_permission(session, operator, make_person):
    person = make_person(party="KE")
    other = make_person()
    with pytest.raises(Forbidden):
        update_person(session, person, actor=Actor.for_person(other), now=NOW, name="Changed")
    update_person(session, person, actor=Actor.for_person(person), now=NOW, preferred_language="fr", party="SN")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "person.updated"))
    assert entry.detail == {"preferred_language": [None, "fr"], "party": ["KE", "SN"]}


def test_staff_account_and_login(session, operator):
    account = create_staff_account(session, email="Officer@CITES.org", password=PASSWORD, name="Officer",
                                   roles=[Role.SECRETARIAT], actor=operator, now=NOW)
    assert account.email == "officer@cites.org"
    assert PASSWORD not in account.password_hash
    assert authenticate(session, "OFFICER@cites.org", PASSWORD, now=NOW) is account.person
    assert account.last_login_at == NOW
    assert authenticate(session, "officer@cites.org", "wrong password!!", now=NOW) is None
    assert authenticate(session, "nobody@cites.org", PASSWORD, now=NOW) is None
    set_account_active(session, account, False, actor=operator, now=NOW, reason="left")
    assert authenticate(session, "officer@cites.org", PASSWORD, now=NOW) is None


def test_staff_account_refusals_write_nothing(session, operator, make_staff):
    make_staff(email="taken@example.org")
    people, accounts = count(session, Person), count(session, StaffAccount)
    with pytest.raises(Conflict) as caught:
        create_staff_account(session, email="TAKEN@example.org", password=PASSWORD, name="Dup",
                             roles=[Role.TRAINER], actor=operator, now=NOW)
    assert "email" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        create_staff_account(session, email="new@example.org", password="short", name="New",
                             roles=[Role.TRAINER], actor=operator, now=NOW)
    assert "password" in caught.value.errors
    assert (count(session, Person), count(session, StaffAccount)) == (people, accounts)


def test_password_change_rules(session, operator, make_staff):
    person = make_staff()
    with pytest.raises(InvalidInput):
        set_password(session, person.account, "tiny", actor=Actor.for_person(person), now=NOW)
    with pytest.raises(Forbidden):
        set_password(session, person.account, "a new long password", actor=Actor.for_person(make_staff(Role.TRAINER)), now=NOW)
    set_password(session, person.account, "a new long password", actor=Actor.for_person(person), now=NOW)
    assert authenticate(session, person.account.email, "a new long password", now=NOW) is person


def test_token_is_stored_hashed_and_can_be_revoked(session, operator):
    token, raw = create_api_token(session, name="reports", scopes=["parties:read"], actor=operator, now=NOW)
    assert raw.startswith(f"vct_{token.prefix}_")
    assert raw not in token.token_hash
    assert authenticate_token(session, raw, now=NOW) is token
    assert authenticate_token(session, raw + "x", now=NOW) is None
    assert authenticate_token(session, "not-a-token", now=NOW) is None
    assert revoke_api_token(session, token, actor=operator, now=NOW)
    assert authenticate_token(session, raw, now=NOW) is None
    assert not revoke_api_token(session, token, actor=operator, now=NOW)


def test_token_expiry(session, operator):
    token, raw = create_api_token(session, name="short", scopes=["parties:read"], actor=operator, now=NOW,
                                  expires_at=NOW + dt.timedelta(days=1))
    assert authenticate_token(session, raw, now=NOW + dt.timedelta(hours=23)) is token
    assert authenticate_token(session, raw, now=NOW + dt.timedelta(days=1)) is None


def test_token_refusals(session, operator, make_staff):
    before = count(session, ApiToken)
    with pytest.raises(InvalidInput) as caught:
        create_api_token(session, name="x", scopes=["parties:read", "everything:please"], actor=operator, now=NOW)
    assert "everything:please" in caught.value.detail
    with pytest.raises(InvalidInput):  # tokens cannot grant roles
        create_api_token(session, name="x", scopes=["roles:grant-secretariat"], actor=operator, now=NOW)
    with pytest.raises(Forbidden):
        create_api_token(session, name="x", scopes=["parties:read"], actor=Actor.for_person(make_staff(Role.TRAINER)), now=NOW)
    with pytest.raises(InvalidInput):
        create_api_token(session, name="x", scopes=["parties:read"], actor=operator, now=NOW, expires_at=NOW)
    assert count(session, ApiToken) == before
