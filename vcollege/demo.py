"""`vcollege demo load`: demonstration records so that no page is empty.

Idempotent: each step looks for what it would create and creates only what is missing, so
`make run` can call it every time. Staff passwords are generated on first creation and kept
in `instance/demo-credentials.txt` (mode 0600) so that they can be printed again. Each area
appends its own step to `DEMO_STEPS`.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from vcollege.catalogue.demo import sync_courses
from vcollege.cli import CommandGroup
from vcollege.core.accounts import create_staff_account, find_account
from vcollege.core.models import Agency, Party, Person, Role
from vcollege.core.parties import load_parties_file
from vcollege.core.people import create_person
from vcollege.core.permissions import Actor
from vcollege.extensions import db, utcnow
from vcollege.learning.demo import enrol_demo_learners
from vcollege.lti.demo import ensure_dev_lms

DEMO_ACTOR = Actor.operator("demo")
DEMO_DOMAIN = "demo.vcollege.test"


@dataclass(frozen=True)
class DemoContext:
    session: Session
    now: dt.datetime
    actor: Actor
    echo: Callable[[str], None]
    credentials: dict[str, str]
    config: Mapping[str, Any] = field(default_factory=dict)  # the app's settings


DemoStep = Callable[[DemoContext], None]

STAFF = (
    ("Amina Diallo", "secretariat", (Role.SECRETARIAT,), "CH", Agency.OTHER, "en"),
    ("Carlos Mendoza", "trainer", (Role.TRAINER,), "PE", Agency.MANAGEMENT_AUTHORITY, "es"),
    ("Claire Martin", "formatrice", (Role.TRAINER,), "FR", Agency.SCIENTIFIC_AUTHORITY, "fr"),
)

LEARNERS = (
    ("Wanjiru Kamau", "KE", Agency.MANAGEMENT_AUTHORITY, "en"),
    ("Rahim Chowdhury", "BD", Agency.CUSTOMS, "en"),
    ("Sita Gurung", "NP", Agency.SCIENTIFIC_AUTHORITY, "en"),
    ("Mere Tuilagi", "FJ", Agency.MANAGEMENT_AUTHORITY, "en"),
    ("Juan Quispe", "BO", Agency.ENFORCEMENT, "es"),
    ("Awa Ndiaye", "SN", Agency.JUDICIARY, "fr"),
    ("Merdan Atayev", "TM", Agency.MANAGEMENT_AUTHORITY, "ru"),
    ("Núria Puig", "AD", Agency.CUSTOMS, "es"),
    ("Paul Mbarga", "CM", Agency.SCIENTIFIC_AUTHORITY, "fr"),
    ("Lucía Torres", "PE", Agency.ENFORCEMENT, "es"),
    ("Nguyen Thi Lan", "VN", Agency.ENFORCEMENT, "en"),
    ("Ana Tavares", "MZ", Agency.CUSTOMS, "pt"),
)


def _email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


def ensure_parties(ctx: DemoContext) -> None:
    result = load_parties_file(ctx.session, None, actor=ctx.actor, now=ctx.now)
    ctx.echo(f"Parties: {result}.")


def ensure_people(ctx: DemoContext) -> None:
    created = 0
    for name, local, roles, party, agency, language in STAFF:
        email = _email(local)
        if find_account(ctx.session, email) is None:
            password = secrets.token_urlsafe(12)
            create_staff_account(ctx.session, email=email, password=password, name=name, roles=list(roles),
                                 actor=ctx.actor, now=ctx.now, party=party, agency=agency,
                                 preferred_language=language)
            ctx.credentials[email] = password
            created += 1
    existing = set(ctx.session.scalars(select(Person.email).where(Person.email.like(f"%@{DEMO_DOMAIN}"))))
    for name, party, agency, language in LEARNERS:
        email = _email(name.lower().replace(" ", ".").replace("ú", "u").replace("í", "i"))
        if email in existing:
            continue
        create_person(ctx.session, name=name, email=email, party=party, agency=agency,
                      preferred_language=language, roles=(Role.LEARNER,), actor=ctx.actor, now=ctx.now)
        created += 1
    ctx.echo(f"People: {created} created.")


DEMO_STEPS: list[DemoStep] = [ensure_parties, ensure_people, sync_courses, enrol_demo_learners, ensure_dev_lms]


def add_demo_step(step: DemoStep) -> None:
    if step not in DEMO_STEPS:
        DEMO_STEPS.append(step)


def demo_learners(session: Session) -> list[Person]:
    """The demo learners, in a stable order (other areas' steps build on them)."""
    return list(session.scalars(
        select(Person).where(Person.email.like(f"%@{DEMO_DOMAIN}"), Person.account == None)  # noqa: E711
        .order_by(Person.id)
    ))


def _credentials_file() -> Path:
    return Path(current_app.instance_path) / "demo-credentials.txt"


def _read_credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)
    return {email: password for email, password in pairs}


def _write_credentials(path: Path, credentials: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(f"{email} {password}\n" for email, password in sorted(credentials.items()))


def load_demo(
    session: Session, *, now: dt.datetime, echo: Callable[[str], None], config: Mapping[str, Any]
) -> dict[str, str]:
    """Run every demo step; return the credentials of the staff accounts created now."""
    ctx = DemoContext(session, now, DEMO_ACTOR, echo, {}, config)
    for step in DEMO_STEPS:
        step(ctx)
        session.flush()
    return ctx.credentials


@click.group("demo", cls=CommandGroup, help="Demonstration data.")
def demo() -> None:
    pass


@demo.command("load")
@with_appcontext
def load_command():
    """Create the demo records that are missing and print the staff sign-ins."""
    if current_app.config["ENV"] == "production":
        raise click.ClickException("Demo data (with printed passwords) is refused when VCOLLEGE_ENV=production.")
    if db.session.scalar(select(Party.id).limit(1)) is None:
        click.echo("Loading the Parties first.")
    new = load_demo(db.session, now=utcnow(), echo=click.echo, config=current_app.config)
    path = _credentials_file()
    known = _read_credentials(path)
    known.update(new)
    db.session.commit()
    _write_credentials(path, known)
    click.echo("Staff sign-ins (also in instance/demo-credentials.txt):")
    for _name, local, roles, *_ in STAFF:
        email = _email(local)
        password = known.get(email, "(set before; see `vcollege users set-password`)")
        click.echo(f"  {', '.join(r.value for r in roles):<12} {email:<36} {password}")
