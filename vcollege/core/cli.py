"""`vcollege users|tokens|parties|audit ...`: the core area's commands over its services."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from vcollege.cli import CommandGroup
from vcollege.core.accounts import (
    create_api_token,
    create_staff_account,
    get_account,
    get_api_token,
    list_api_tokens,
    revoke_api_token,
    set_account_active,
    set_password,
)
from vcollege.core.audit import AuditFilter, audit_query
from vcollege.core.keys import rotate_signing_key
from vcollege.core.models import Agency, CitesRegion, ComplianceProcedure, KeyPurpose, Person, Role
from vcollege.core.parties import (
    CONVENTION_IN_FORCE,
    FACTS_AS_OF,
    end_compliance_case,
    get_compliance_case,
    get_party,
    list_standings,
    load_parties_file,
    open_compliance_case,
    standing,
)
from vcollege.core.people import grant_role, revoke_role
from vcollege.core.permissions import Actor, token_scopes
from vcollege.core.schemas import StaffAccountSchema
from vcollege.errors import InvalidInput
from vcollege.extensions import db, utcnow

OPERATOR = Actor.operator("cli")

users = CommandGroup("users", help="Staff accounts and roles.")
tokens = CommandGroup("tokens", help="API tokens with scopes.")
parties = CommandGroup("parties", help="The Parties and their priority categories.")
audit = CommandGroup("audit", help="The audit log.")
keys = CommandGroup("keys", help="The college's signing keys (LTI, credentials).")


def _date(value: str | None) -> dt.date | None:
    return _parse_day(value, "on") if value else None


REGIONS = click.Choice([region.value for region in CitesRegion], case_sensitive=False)


@users.command("create")
@click.option("--email", required=True, help="Login e-mail.")
@click.option("--name", required=True, help="Full name.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([Role.TRAINER.value, Role.SECRETARIAT.value]), help="Repeat for several.")
@click.option("--party", help="ISO2 code of the person's Party.")
@click.option("--agency", type=click.Choice([a.value for a in Agency]))
@click.option("--language", help="Preferred interface language (en, fr, es).")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once.")
@click.option("--password", help="The password (prompted, hidden, when not given).")
def create_user(email, name, roles, party, agency, language, generate_password, password):
    """Create a staff account for a trainer or a Secretariat officer."""
    if generate_password:
        password = secrets.token_urlsafe(12)
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    data = InvalidInput.load(StaffAccountSchema(), {
        "email": email, "name": name, "roles": list(roles), "party": party, "agency": agency,
        "preferred_language": language, "password": password,
    })
    account = create_staff_account(
        db.session, email=data["email"], password=data["password"], name=data["name"],
        roles=data["roles"], actor=OPERATOR, now=utcnow(), party=data["party"], agency=data["agency"],
        preferred_language=data["preferred_language"],
    )
    db.session.commit()
    click.echo(f"Created staff account {account.email} (person {account.person_id}, roles: {', '.join(roles)}).")
    if generate_password:
        click.echo(f"Password: {password}")


@users.command("list")
@click.option("--role", type=click.Choice([r.value for r in Role]))
def list_users(role):
    """List people with their roles and staff accounts."""
    query = select(Person).order_by(Person.id)
    for person in db.session.scalars(query):
        held = sorted(r.role.value for r in person.roles)
        if role and role not in held:
            continue
        login = person.account.email if person.account else "-"
        party = person.party.iso2 if person.party else "-"
        click.echo(f"{person.id:>5}  {person.name:<32} {party:<3} {','.join(held):<28} {login}")


@users.command("grant")
@click.argument("email")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.option("--reason", required=True)
def grant(email, role, reason):
    """Grant ROLE to the staff account EMAIL (the only way to the Secretariat role besides another Secretariat officer)."""
    account = get_account(db.session, email)
    changed = grant_role(db.session, account.person, Role(role), actor=OPERATOR, now=utcnow(), reason=reason)
    db.session.commit()
    click.echo(f"{account.email}: {role} {'granted' if changed else 'already held'}.")


@users.command("revoke")
@click.argument("email")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.option("--reason", required=True)
def revoke(email, role, reason):
    """Take ROLE from the staff account EMAIL."""
    account = get_account(db.session, email)
    changed = revoke_role(db.session, account.person, Role(role), actor=OPERATOR, now=utcnow(), reason=reason)
    db.session.commit()
    click.echo(f"{account.email}: {role} {'revoked' if changed else 'was not held'}.")


@users.command("set-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def change_password(email, password):
    """Set a new password for EMAIL."""
    account = get_account(db.session, email)
    set_password(db.session, account, password, actor=OPERATOR, now=utcnow())
    db.session.commit()
    click.echo(f"Password changed for {account.email}.")


@users.command("disable")
@click.argument("email")
@click.option("--reason", required=True)
def disable(email, reason):
    """Disable the staff login EMAIL (its history stays)."""
    account = get_account(db.session, email)
    set_account_active(db.session, account, False, actor=OPERATOR, now=utcnow(), reason=reason)
    db.session.commit()
    click.echo(f"{account.email} disabled.")


@users.command("enable")
@click.argument("email")
def enable(email):
    """Enable the staff login EMAIL again."""
    account = get_account(db.session, email)
    set_account_active(db.session, account, True, actor=OPERATOR, now=utcnow())
    db.session.commit()
    click.echo(f"{account.email} enabled.")


@tokens.command("create")
@click.option("--name", required=True, help="Who or what uses the token.")
@click.option("--scope", "scopes", multiple=True, required=True, help="Repeat for several; see `vcollege tokens scopes`.")
@click.option("--expires-in-days", type=click.IntRange(1, 3650))
def create_token(name, scopes, expires_in_days):
    """Create an API token; its secret is printed once and never stored."""
    now = utcnow()
    expires_at = now + dt.timedelta(days=expires_in_days) if expires_in_days else None
    token, raw = create_api_token(db.session, name=name, scopes=list(scopes), actor=OPERATOR, now=now, expires_at=expires_at)
    db.session.commit()
    click.echo(f"Token {token.id} ({token.prefix}) for {name}, scopes: {' '.join(token.scopes)}")
    click.echo(raw)


@tokens.command("scopes")
def list_scopes():
    """The scopes a token can hold."""
    from vcollege.core.permissions import PERMISSIONS

    for scope in token_scopes():
        click.echo(f"{scope:<24} {PERMISSIONS[scope].description}")


@tokens.command("list")
def list_tokens():
    """All tokens, newest first, with their state."""
    now = utcnow()
    for token in list_api_tokens(db.session):
        state = "revoked" if token.revoked_at else ("expired" if not token.usable_at(now) else "active")
        used = token.last_used_at.isoformat(timespec="minutes") if token.last_used_at else "never"
        click.echo(f"{token.id:>4}  {token.prefix}  {state:<8} {token.name:<30} {' '.join(token.scopes)}  last used: {used}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
@click.option("--reason")
def revoke_token(token_id, reason):
    """Revoke the token TOKEN_ID at once."""
    token = get_api_token(db.session, token_id)
    changed = revoke_api_token(db.session, token, actor=OPERATOR, now=utcnow(), reason=reason)
    db.session.commit()
    click.echo(f"Token {token_id} {'revoked' if changed else 'was already revoked'}.")


@parties.command("load")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A CSV in the shipped format (default: the shipped file).")
def load(path):
    """Load the Parties (idempotent: a second run changes nothing)."""
    result = load_parties_file(db.session, path, actor=OPERATOR, now=utcnow())
    db.session.commit()
    click.echo(f"Parties: {result}.")


@parties.command("list")
@click.option("--priority", is_flag=True, help="Only Parties in a Res. Conf. 19.2 priority category, with their categories.")
@click.option("--category", type=click.Choice(["recently_acceded", "ldc", "lldc", "sids", "compliance"]))
@click.option("--region", type=REGIONS)
@click.option("--on", "on", help="The day (YYYY-MM-DD) the categories hold on; default today.")
def list_parties(priority, category, region, on):
    """List the Parties of that day; categories are computed for --on."""
    day = _date(on) or utcnow().date()
    region = next((r for r in CitesRegion if r.value.lower() == region.lower()), None) if region else None
    window = current_app.config["RECENTLY_ACCEDED_YEARS"]
    rows = list_standings(db.session, on=day, window_years=window, region=region,
                          category=category or ("any" if priority else None))
    click.echo(f"# {len(rows)} Parties on {day} (recently acceded: entry into force within {window} years; UN lists as of {FACTS_AS_OF})")
    for row in rows:
        categories = ",".join(row.priority_categories)
        if row.compliance:
            categories = ",".join(filter(None, [categories, "compliance"]))
        click.echo(f"{row.iso2}  {row.name:<44} {row.cites_region:<45} {row.entry_into_force}  {categories}")


@parties.command("show")
@click.argument("iso2")
@click.option("--on", "on")
def show(iso2, on):
    """One Party's facts and standing."""
    day = _date(on) or utcnow().date()
    row = standing(get_party(db.session, iso2), day, current_app.config["RECENTLY_ACCEDED_YEARS"])
    click.echo(f"{row.name} ({row.iso2}{'/' + row.iso3 if row.iso3 else ''}), {row.cites_region}")
    click.echo(f"Entry into force: {row.entry_into_force}")
    click.echo(f"Priority on {day}: {', '.join(row.priority_categories) or 'none'}")
    for case in row.party.compliance_cases:
        state = f"ended {case.ended_on}" if case.ended_on else "open"
        click.echo(f"Compliance #{case.id}: {case.procedure.value} since {case.started_on} ({state}) {case.reference or ''}")


@parties.command("compliance-open")
@click.argument("iso2")
@click.option("--procedure", required=True, type=click.Choice([p.value for p in ComplianceProcedure]))
@click.option("--since", required=True, help="YYYY-MM-DD")
@click.option("--reference")
@click.option("--note")
def compliance_open(iso2, procedure, since, reference, note):
    """Mark ISO2 as under a compliance procedure since a date."""
    case = open_compliance_case(
        db.session, get_party(db.session, iso2), procedure=ComplianceProcedure(procedure),
        started_on=_parse_day(since, "since"), reference=reference, note=note, actor=OPERATOR, now=utcnow(),
    )
    db.session.commit()
    click.echo(f"Compliance case {case.id} opened for {iso2.upper()}.")


@parties.command("compliance-end")
@click.argument("case_id", type=int)
@click.option("--on", "on", required=True, help="YYYY-MM-DD")
@click.option("--reason", required=True)
def compliance_end(case_id, on, reason):
    """Close compliance case CASE_ID."""
    case = end_compliance_case(db.session, get_compliance_case(db.session, case_id),
                               ended_on=_parse_day(on, "on"), reason=reason, actor=OPERATOR, now=utcnow())
    db.session.commit()
    click.echo(f"Compliance case {case.id} closed on {case.ended_on}.")


def _parse_day(value: str, field: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--{field}: {value!r} is not a date (YYYY-MM-DD).", errors={field: ["Not a date."]}) from None
    if day < CONVENTION_IN_FORCE:
        raise InvalidInput(f"--{field}: {value} is before CITES entered into force ({CONVENTION_IN_FORCE}).",
                           errors={field: ["Before 1975-07-01."]})
    return day


@audit.command("list")
@click.option("--action", help="Actions starting with this, e.g. person.")
@click.option("--limit", default=50, show_default=True)
def list_audit(action, limit):
    """The latest audit entries."""
    for entry in db.session.scalars(audit_query(AuditFilter(action=action)).limit(limit)):
        reason = f"  ({entry.reason})" if entry.reason else ""
        click.echo(f"{entry.at.isoformat(timespec='seconds')}  {entry.actor_label:<30} {entry.action:<28} {entry.target_type}:{entry.target_id} {entry.target_label or ''}{reason}")


@keys.command("list")
def list_keys():
    """Every signing key with its purpose and state."""
    from vcollege.core.models import SigningKey

    for key in db.session.scalars(select(SigningKey).order_by(SigningKey.purpose, SigningKey.created_at)):
        if key.retired_at is None:
            state = "active"
        elif key.expires_at is None:
            state = f"retired {key.retired_at:%Y-%m-%d}, published for ever"
        else:
            state = f"retired {key.retired_at:%Y-%m-%d}, published until {key.expires_at:%Y-%m-%d %H:%M}"
        click.echo(f"{key.purpose.value:<12} {key.kid:<40} created {key.created_at:%Y-%m-%d}  {state}")


@keys.command("rotate")
@click.option("--purpose", type=click.Choice([p.value for p in KeyPurpose]), required=True)
@click.option("--reason")
def rotate_key(purpose, reason):
    """Make a new signing key active; the previous one stays published (a day for lti, for
    ever for credentials)."""
    key = rotate_signing_key(db.session, KeyPurpose(purpose), now=utcnow(), actor=OPERATOR, reason=reason)
    db.session.commit()
    click.echo(f"New {purpose} key {key.kid} is active.")


COMMANDS = (users, tokens, parties, audit, keys)
