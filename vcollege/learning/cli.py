"""`vcollege learning enrol|enrol-csv|withdraw|waive|revoke|completions`: the learning area's
commands over the same services as the pages and the API."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from vcollege.catalogue.service import get_version
from vcollege.cli import CommandGroup
from vcollege.core.parties import get_party
from vcollege.core.people import find_people_by_email
from vcollege.core.permissions import Actor
from vcollege.errors import InvalidInput, NotFound
from vcollege.extensions import db, utcnow
from vcollege.learning.credentials import get_credential, revoke_credential
from vcollege.learning.enrolments import enrol_learner, enrol_roster, find_enrolment, withdraw
from vcollege.learning.models import EnrolmentSource
from vcollege.learning.progress import list_completions, waive_course, waive_module

OPERATOR = Actor.operator("cli")

learning = CommandGroup("learning", help="Enrolments, waivers, completions and credentials.")


def _person(email: str):
    people = find_people_by_email(db.session, email)
    if not people:
        raise NotFound(f"Nobody has the e-mail {email}.", errors={"email": ["Unknown."]})
    if len(people) > 1:
        raise InvalidInput(f"Several people have the e-mail {email}.", errors={"email": ["Ambiguous."]})
    return people[0]


def _enrolment(email: str, course: str):
    enrolment = find_enrolment(db.session, _person(email), course)
    if enrolment is None:
        raise NotFound(f"{email} is not enrolled in {course}.", errors={"course": ["Not enrolled."]})
    return enrolment


@learning.command("enrol")
@click.argument("email")
@click.argument("course")
@click.option("--version", type=int, help="A version number (default: the current version).")
def enrol(email, course, version):
    """Enrol the person with EMAIL in COURSE (a slug); harmless if already enrolled."""
    person = _person(email)
    before = find_enrolment(db.session, person, course)
    enrolment = enrol_learner(db.session, person, get_version(db.session, course, version), source=EnrolmentSource.CLI,
                              actor=OPERATOR, now=utcnow())
    db.session.commit()
    state = "already enrolled" if before is not None and before.status == enrolment.status else "enrolled"
    click.echo(f"{person.name} {state} in {course} (version {enrolment.version.number}, enrolment {enrolment.id}).")


@learning.command("enrol-csv")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--course", help="The course of every line without a `course` column.")
def enrol_csv(path, course):
    """Enrol every learner of a roster CSV (columns email, course; optional version, expires_on).
    The whole file is checked first: one bad line and nobody is enrolled."""
    result = enrol_roster(db.session, path.read_text(encoding="utf-8-sig"), actor=OPERATOR, now=utcnow(),
                          default_course=course)
    db.session.commit()
    click.echo(f"Roster: {result}.")


@learning.command("withdraw")
@click.argument("email")
@click.argument("course")
@click.option("--reason", required=True)
def withdraw_command(email, course, reason):
    """Withdraw EMAIL from COURSE (their history stays)."""
    enrolment = withdraw(db.session, _enrolment(email, course), reason=reason, actor=OPERATOR, now=utcnow())
    db.session.commit()
    click.echo(f"Enrolment {enrolment.id} withdrawn.")


@learning.command("waive")
@click.argument("email")
@click.argument("course")
@click.option("--module", help="The module key; without it the whole course is waived.")
@click.option("--reason", required=True)
def waive(email, course, module, reason):
    """Waive a module (or the whole course) for EMAIL in COURSE, with a reason."""
    enrolment = _enrolment(email, course)
    if module:
        outcome = waive_module(db.session, enrolment, module, reason=reason, actor=OPERATOR, now=utcnow())
    else:
        outcome = waive_course(db.session, enrolment, reason=reason, actor=OPERATOR, now=utcnow())
    db.session.commit()
    what = f"module {module}" if module else "the whole course"
    done = f"; completed, code {outcome.completion.credential.code}" if outcome.completion else ""
    click.echo(f"Waived {what} for {enrolment.person.name}{done}.")


@learning.command("revoke")
@click.argument("code")
@click.option("--reason", required=True)
def revoke(code, reason):
    """Revoke the certificate and badge with verification CODE."""
    credential = revoke_credential(db.session, get_credential(db.session, code), reason=reason, actor=OPERATOR,
                                   now=utcnow())
    db.session.commit()
    click.echo(f"Credential {credential.code} revoked.")


def _day(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
    except ValueError:
        raise InvalidInput(f"--{name}: {value!r} is not a date (YYYY-MM-DD).", errors={name: ["Not a date."]}) from None


@learning.command("completions")
@click.option("--course", help="A course slug.")
@click.option("--party", help="ISO2 of the learner's Party when they completed.")
@click.option("--since", help="YYYY-MM-DD")
@click.option("--until", help="YYYY-MM-DD (exclusive)")
def completions(course, party, since, until):
    """Completions, newest first, with their verification codes."""
    party_id = get_party(db.session, party).id if party else None
    query = list_completions(db.session, course=course, party_id=party_id, since=_day(since, "since"),
                             until=_day(until, "until"))
    rows = db.session.scalars(query).all()
    click.echo(f"# {len(rows)} completions")
    for c in rows:
        score = "waived" if c.waived else f"{c.score:g}%"
        code = c.credential.code if c.credential else "-"
        state = " REVOKED" if c.credential and c.credential.revoked else ""
        party_code = c.party.iso2 if c.party else "-"
        click.echo(f"{c.completed_at:%Y-%m-%d}  {code}  {c.course.slug:<28} v{c.course_version.number}  "
                   f"{party_code:<3} {c.person.name:<30} {score}{state}")


COMMANDS = (learning,)
