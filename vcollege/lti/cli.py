"""`vcollege lti ...`: platforms, keys and rosters over the same services as the pages."""

from __future__ import annotations

import click

from vcollege.cli import CommandGroup
from vcollege.core.permissions import Actor
from vcollege.errors import InvalidInput, VCollegeError
from vcollege.extensions import db, utcnow
from vcollege.lti.errors import ServiceFailed
from vcollege.lti.keys import jwks, published_keys, rotate_keys, signing_key
from vcollege.lti.models import PlatformStatus
from vcollege.lti.nrps import fetch_members, get_context
from vcollege.lti.platforms import (
    frame_origins,
    get_platform,
    list_platforms,
    register_platform,
    remove_platform,
    suggested_origin,
)
from vcollege.lti.schemas import PlatformSchema

OPERATOR = Actor.operator("cli")

lti = CommandGroup("lti", help="LTI 1.3: LMS platforms, the tool's keys, rosters.")
platform = CommandGroup("platform", help="LMS platform registrations.")
keys = CommandGroup("keys", help="The tool's signing keys.")
lti.add_command(platform)
lti.add_command(keys)


@platform.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", required=True, help="The client id the platform gave the tool.")
@click.option("--deployment-id", "deployment_ids", multiple=True, help="A deployment id (repeat for several).")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorisation endpoint.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth 2 token endpoint.")
@click.option("--key-set-url", required=True, help="The platform's JWKS URL.")
@click.option("--auth-audience", default=None, help="The token endpoint's audience, when not its URL.")
@click.option("--name", default=None, help="A name for people (default: the issuer's host).")
@click.option("--pending", is_flag=True, help="Leave it waiting for approval instead of active.")
def add_platform(issuer, client_id, deployment_ids, auth_login_url, auth_token_url, key_set_url, auth_audience, name, pending):
    """Register a platform (active at once unless --pending)."""
    data = InvalidInput.load(PlatformSchema(), {
        "issuer": issuer, "client_id": client_id, "deployment_ids": list(deployment_ids),
        "auth_login_url": auth_login_url, "auth_token_url": auth_token_url, "key_set_url": key_set_url,
        "auth_audience": auth_audience, "name": name,
    })
    found = register_platform(db.session, **data, actor=OPERATOR, now=utcnow(), active=not pending, via="cli")
    db.session.commit()
    click.echo(f"Registered platform {found.id}: {found.issuer} client {found.client_id} ({found.status}), "
               f"deployments: {', '.join(d.deployment_id for d in found.deployments) or 'none'}.")


@platform.command("list")
@click.option("--status", type=click.Choice([s.value for s in PlatformStatus]))
def list_platforms_command(status):
    """Every registered platform."""
    for found in list_platforms(db.session, PlatformStatus(status) if status else None):
        deployments = ",".join(d.deployment_id for d in found.deployments) or "-"
        click.echo(f"{found.id:>4}  {found.status:<9} {found.issuer:<40} {found.client_id:<24} {deployments}")


@platform.command("show")
@click.argument("platform_id", type=int)
def show_platform(platform_id):
    """One platform with all its URLs."""
    found = get_platform(db.session, platform_id)
    for label, value in (
        ("name", found.name), ("status", found.status), ("issuer", found.issuer), ("client id", found.client_id),
        ("auth login url", found.auth_login_url), ("auth token url", found.auth_token_url),
        ("key set url", found.key_set_url), ("auth audience", found.auth_audience or "-"),
        ("deployments", ", ".join(d.deployment_id for d in found.deployments) or "-"),
        ("frame origins", ", ".join(frame_origins(found))),
        ("launch origin", suggested_origin(found) or "-"),  # information only, never allowed by itself
        ("registered", f"{found.created_at.isoformat()} via {found.registered_via}"),
        ("approved", found.approved_at.isoformat() if found.approved_at else "-"),
    ):
        click.echo(f"{label:<15} {value}")


@platform.command("remove")
@click.argument("platform_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def remove_platform_command(platform_id, yes):
    """Delete a platform with its deployments, contexts and links."""
    found = get_platform(db.session, platform_id)
    if not yes:
        click.confirm(f"Remove {found.issuer} client {found.client_id}?", abort=True)
    remove_platform(db.session, found, actor=OPERATOR, now=utcnow())
    db.session.commit()
    click.echo(f"Removed platform {platform_id}.")


@keys.command("rotate")
def rotate_keys_command():
    """Add a new signing key; the previous one stays published until its tokens have expired."""
    key = rotate_keys(db.session, actor=OPERATOR, now=utcnow())
    db.session.commit()
    click.echo(f"New signing key {key.kid}; published keys: {len(jwks(db.session, now=utcnow())['keys'])}.")


@keys.command("list")
def list_keys_command():
    """The published keys, newest first."""
    now = utcnow()
    current = signing_key(db.session)
    for key in published_keys(db.session, now=now):
        role = "signing" if current is not None and key.id == current.id else f"published until {key.expires_at.isoformat()}"
        click.echo(f"{key.kid}  created {key.created_at.isoformat()}  {role}")


@lti.command("members")
@click.argument("context")
def members_command(context):
    """The membership of an LMS context (our number or the LMS's context id), every page."""
    found = get_context(db.session, context)
    try:
        members = fetch_members(db.session, found, now=utcnow())
    except ServiceFailed as exc:
        raise VCollegeError(f"The LMS did not give the membership: {exc}") from None
    db.session.commit()  # a signing key may have been created
    for member in members:
        roles = ",".join(r.rsplit("#", 1)[-1] for r in member.get("roles", []))
        click.echo(f"{member.get('user_id', ''):<24} {member.get('name', '') or '':<32} "
                   f"{member.get('email', '') or '':<32} {member.get('status', 'Active'):<9} {roles}")
    click.echo(f"{len(members)} member(s) in {found.title or found.context_id}.")


COMMANDS = [lti]
