"""The `vcollege` command over the core services."""

from pathlib import Path

from sqlalchemy import select

from tests.conftest import count
from vcollege.core.models import ApiToken, AuditEntry, ComplianceCase, Person, StaffAccount


def test_users_create_and_list(runner, session):
    result = runner.invoke(args=["users", "create", "--email", "Amina@cites.org", "--name", "Amina Diallo",
                                 "--role", "secretariat", "--party", "ch", "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    account = session.scalar(select(StaffAccount).where(StaffAccount.email == "amina@cites.org"))
    assert account.person.party.iso2 == "CH"
    listing = runner.invoke(args=["users", "list", "--role", "secretariat"])
    assert "Amina Diallo" in listing.output and "amina@cites.org" in listing.output


def test_users_create_generates_a_password(runner, session):
    result = runner.invoke(args=["users", "create", "--email", "t@cites.org", "--name", "T",
                                 "--role", "trainer", "--generate-password"])
    assert result.exit_code == 0
    assert "Password: " in result.output


def test_users_create_refusals_name_the_field_and_write_nothing(runner, session):
    people = count(session, Person)
    result = runner.invoke(args=["users", "create", "--email", "not-an-email", "--name", "X",
                                 "--role", "trainer", "--password", "a long enough password"])
    assert result.exit_code == 1
    assert "email" in result.output
    result = runner.invoke(args=["users", "create", "--email", "x@cites.org", "--name", "X",
                                 "--role", "trainer", "--password", "short"])
    assert result.exit_code == 1 and "password" in result.output
    result = runner.invoke(args=["users", "create", "--email", "x@cites.org", "--name", "X",
                                 "--role", "trainer", "--party", "QQ", "--password", "a long enough password"])
    assert result.exit_code == 1 and "QQ" in result.output
    assert count(session, Person) == people


def test_grant_and_revoke_roles(runner, session, make_staff):
    from vcollege.core.models import Role

    trainer = make_staff(Role.TRAINER, email="trainer@cites.org")
    result = runner.invoke(args=["users", "grant", "trainer@cites.org", "secretariat", "--reason", "promoted"])
    assert result.exit_code == 0 and "granted" in result.output
    session.refresh(trainer)
    assert trainer.has_role(Role.SECRETARIAT)
    result = runner.invoke(args=["users", "revoke", "trainer@cites.org", "secretariat", "--reason", "rotation"])
    assert result.exit_code == 0
    result = runner.invoke(args=["users", "grant", "nobody@cites.org", "trainer", "--reason", "x"])
    assert result.exit_code == 1 and "nobody@cites.org" in result.output


def test_tokens_lifecycle(runner, session):
    result = runner.invoke(args=["tokens", "create", "--name", "reports", "--scope", "parties:read", "--scope", "audit:read"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert raw.startswith("vct_")
    token = session.scalar(select(ApiToken).where(ApiToken.name == "reports"))
    assert token.scopes == ["audit:read", "parties:read"] and raw not in token.token_hash
    assert "active" in runner.invoke(args=["tokens", "list"]).output
    result = runner.invoke(args=["tokens", "revoke", str(token.id), "--reason", "leaked"])
    assert result.exit_code == 0
    assert "revoked" in runner.invoke(args=["tokens", "list"]).output
    assert "parties:read" in runner.invoke(args=["tokens", "scopes"]).output


def test_token_with_unknown_scope_is_refused(runner, session):
    result = runner.invoke(args=["tokens", "create", "--name", "x", "--scope", "root"])
    assert result.exit_code == 1
    assert "scopes" in result.output and "root" in result.output
    assert count(session, ApiToken) == 0


def test_parties_load_is_idempotent_and_list_priority(runner, session):
    result = runner.invoke(args=["parties", "load"])
    assert result.exit_code == 0
    assert "0 added, 0 updated, 185 unchanged" in result.output
    result = runner.invoke(args=["parties", "list", "--priority", "--on", "2026-11-01"])
    lines = [line for line in result.output.splitlines() if not line.startswith("#")]
    by_code = {line.split()[0]: line for line in lines}
    assert by_code["BD"].endswith("ldc")
    assert "recently_acceded" in by_code["TM"] and "lldc" in by_code["TM"]
    assert "CH" not in by_code  # Switzerland is in no category
    result = runner.invoke(args=["parties", "list", "--priority", "--on", "2026-11-28"])
    assert "BD " not in result.output
    result = runner.invoke(args=["parties", "list", "--on", "28/11/2026"])
    assert result.exit_code == 1 and "on" in result.output


def test_parties_load_refuses_a_bad_file(runner, session, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("iso2,iso3,name,cites_region,entry_into_force,ldc,lldc,sids,ldc_graduation\n"
                    "KE,KEN,Kenya,Africa,1979-03-13,0,0,0,\nZZ,ZZZ,Zedland,Mars,2001-01-01,0,0,0,\n")
    result = runner.invoke(args=["parties", "load", "--file", str(path)])
    assert result.exit_code == 1
    assert "line 3" in result.output and "cites_region" in result.output


def test_compliance_commands(runner, session):
    result = runner.invoke(args=["parties", "compliance-open", "gn", "--procedure", "article_xiii",
                                 "--since", "2026-02-01", "--reference", "SC78"])
    assert result.exit_code == 0, result.output
    case = session.scalar(select(ComplianceCase))
    assert "compliance" in runner.invoke(args=["parties", "list", "--category", "compliance"]).output
    result = runner.invoke(args=["parties", "compliance-end", str(case.id), "--on", "2026-10-01", "--reason", "lifted"])
    assert result.exit_code == 0
    result = runner.invoke(args=["parties", "compliance-open", "gn", "--procedure", "other", "--since", "yesterday"])
    assert result.exit_code == 1 and "since" in result.output
    assert "GN" in runner.invoke(args=["parties", "show", "GN"]).output


def test_audit_list(runner, session, make_person):
    make_person("Listed Person")
    output = runner.invoke(args=["audit", "list", "--action", "person."]).output
    assert "person.created" in output and "Listed Person" in output


def test_demo_load_twice_keeps_everything(runner, session, app, tmp_path):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    people = count(session, Person)
    audits = count(session, AuditEntry)
    assert "secretariat@demo.vcollege.test" in first.output
    passwords = [line.split()[-1] for line in first.output.splitlines() if "@demo.vcollege.test" in line]
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0
    assert "People: 0 created." in second.output
    assert count(session, Person) == people and count(session, AuditEntry) == audits
    assert [line.split()[-1] for line in second.output.splitlines() if "@demo.vcollege.test" in line] == passwords
    saved = (Path(app.instance_path) / "demo-credentials.txt").read_text()
    assert all(password in saved for password in passwords)


def test_config_lists_every_setting(runner):
    from vcollege.config import SETTINGS

    output = runner.invoke(args=["config"]).output
    assert all(s.env in output for s in SETTINGS)


def test_keys_rotate_and_list(runner, session):
    from vcollege.core.models import KeyPurpose, SigningKey

    result = runner.invoke(args=["keys", "rotate", "--purpose", "credentials"])
    assert result.exit_code == 0, result.output
    runner.invoke(args=["keys", "rotate", "--purpose", "credentials", "--reason", "yearly"])
    listing = runner.invoke(args=["keys", "list"]).output
    assert "published for ever" in listing and "active" in listing
    assert count(session, SigningKey, SigningKey.purpose == KeyPurpose.CREDENTIALS) == 2
    result = runner.invoke(args=["keys", "rotate", "--purpose", "everything"])
    assert result.exit_code == 2


def test_parties_list_by_region_in_any_case_and_refusals(runner, session):
    result = runner.invoke(args=["parties", "list", "--region", "oceania", "--on", "2026-11-28"])
    assert result.exit_code == 0, result.output
    assert len([line for line in result.output.splitlines() if not line.startswith("#")]) == 9
    result = runner.invoke(args=["parties", "list", "--region", "atlantis"])
    assert result.exit_code == 2 and "atlantis" in result.output
    result = runner.invoke(args=["parties", "list", "--on", "1900-01-01"])
    assert result.exit_code == 1 and "before CITES entered into force" in result.output


def test_demo_data_is_refused_in_production(runner, app, monkeypatch):
    monkeypatch.setitem(app.config, "ENV", "production")
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 1 and "refused" in result.output
