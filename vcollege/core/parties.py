"""The Parties to CITES and the priority categories of Resolution Conf. 19.2.

Invariants:
- the Parties file is validated whole before anything is written; loading it twice changes
  nothing the second time;
- a priority category is a fact at a date: "recently acceded" means the Convention entered
  into force for the Party within the configured window before that date; "LDC" means on
  the UN list and not graduated on that date (`ldc_graduation`);
- a compliance procedure is open from its start until the day it ends.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path

from marshmallow import ValidationError
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from vcollege.core.audit import AuditTarget, record_audit
from vcollege.core.models import CitesRegion, ComplianceCase, ComplianceProcedure, Party
from vcollege.core.permissions import PARTIES_MANAGE, Actor
from vcollege.core.schemas import PARTY_FILE_COLUMNS, PartyRowSchema
from vcollege.errors import Conflict, InvalidInput, NotFound

# The UN lists behind the ldc, lldc and sids flags were read on this day (see data/SOURCES.md).
FACTS_AS_OF = dt.date(2026, 7, 19)
# The Convention entered into force on 1 July 1975: no day before it has Parties.
CONVENTION_IN_FORCE = dt.date(1975, 7, 1)


class PriorityCategory(StrEnum):
    """The categories Resolution Conf. 19.2 asks the Secretariat to give priority to."""

    RECENTLY_ACCEDED = "recently_acceded"
    LDC = "ldc"
    LLDC = "lldc"
    SIDS = "sids"


def shipped_parties_file() -> str:
    return resources.files("vcollege.core").joinpath("data/parties.csv").read_text("utf-8")


def read_parties_file(text: str, *, source: str = "parties.csv") -> list[dict]:
    """Parse and validate every row; raise InvalidInput naming each bad line and field."""
    # keep_default_na does not apply to the csv module: Namibia's "NA" stays a string.
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in PARTY_FILE_COLUMNS if c not in header]
    if missing:
        raise InvalidInput(
            f"{source}: the header lacks the column(s) {', '.join(missing)}",
            errors={"line 1": {c: ["Missing column."] for c in missing}},
        )
    schema = PartyRowSchema()
    rows: list[dict] = []
    errors: dict[str, dict] = {}
    seen: dict[str, int] = {}
    for line_no, raw in enumerate(reader, start=2):
        try:
            row = schema.load(raw)
        except ValidationError as exc:
            errors[f"line {line_no}"] = exc.messages
            continue
        if row["iso2"] in seen:
            errors[f"line {line_no}"] = {"iso2": [f"Duplicate of line {seen[row['iso2']]}."]}
            continue
        seen[row["iso2"]] = line_no
        rows.append(row)
    if errors:
        first = next(iter(errors.items()))
        field = next(iter(first[1]))
        raise InvalidInput(
            f"{source}: {len(errors)} bad line(s), first at {first[0]}, field {field}: "
            f"{first[1][field][0] if isinstance(first[1][field], list) else first[1][field]}",
            errors=errors,
        )
    if not rows:
        raise InvalidInput(f"{source}: no Party rows", errors={"file": ["No rows."]})
    return rows


@dataclass(frozen=True)
class LoadResult:
    added: int
    updated: int
    unchanged: int

    def __str__(self) -> str:
        return f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged"


_FACT_FIELDS = ("iso3", "name", "cites_region", "entry_into_force", "ldc_listed", "ldc_graduation", "lldc", "sids")


def load_parties(session: Session, rows: list[dict], *, actor: Actor, now: dt.datetime) -> LoadResult:
    """Insert or update each Party by its ISO2 code; Parties absent from `rows` are kept."""
    actor.require(PARTIES_MANAGE)
    existing = {p.iso2: p for p in session.scalars(select(Party))}
    added = updated = unchanged = 0
    for row in rows:
        party = existing.get(row["iso2"])
        if party is None:
            session.add(Party(iso2=row["iso2"], **{f: row[f] for f in _FACT_FIELDS}))
            added += 1
            continue
        changes = {
            f: [_plain(getattr(party, f)), _plain(row[f])]
            for f in _FACT_FIELDS
            if getattr(party, f) != row[f]
        }
        if not changes:
            unchanged += 1
            continue
        for f in changes:
            setattr(party, f, row[f])
        record_audit(session, actor, "party.updated", party, now=now, detail=changes)
        updated += 1
    result = LoadResult(added, updated, unchanged)
    if added or updated:
        record_audit(session, actor, "parties.loaded", AuditTarget("parties", "all", "Parties file"),
                     now=now, detail={"added": added, "updated": updated, "unchanged": unchanged})
    session.flush()
    return result


def _plain(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def load_parties_file(session: Session, path: Path | None, *, actor: Actor, now: dt.datetime) -> LoadResult:
    """Validate the whole file (the shipped one by default), then load it."""
    text = path.read_text("utf-8") if path else shipped_parties_file()
    rows = read_parties_file(text, source=str(path) if path else "parties.csv (shipped)")
    return load_parties(session, rows, actor=actor, now=now)


def is_ldc(party: Party, on: dt.date) -> bool:
    """On the UN LDC list on `on`: listed (or since graduated) and not graduated by then."""
    if party.ldc_graduation is not None:
        return on < party.ldc_graduation
    return party.ldc_listed


def is_recently_acceded(party: Party, on: dt.date, window_years: int) -> bool:
    """The Convention entered into force for the Party within `window_years` before `on`."""
    start = _years_before(on, window_years)
    return start < party.entry_into_force <= on


def _years_before(day: dt.date, years: int) -> dt.date:
    year = max(dt.MINYEAR, day.year - years)
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February
        return day.replace(year=year, day=28)


def priority_categories(party: Party, on: dt.date, window_years: int) -> list[PriorityCategory]:
    """The Resolution Conf. 19.2 categories the Party falls in on `on`, in a fixed order."""
    held = {
        PriorityCategory.RECENTLY_ACCEDED: is_recently_acceded(party, on, window_years),
        PriorityCategory.LDC: is_ldc(party, on),
        PriorityCategory.LLDC: party.lldc,
        PriorityCategory.SIDS: party.sids,
    }
    return [category for category, yes in held.items() if yes]


def open_compliance_cases(party: Party, on: dt.date) -> list[ComplianceCase]:
    return [case for case in party.compliance_cases if case.open_on(on)]


@dataclass(frozen=True)
class PartyStanding:
    """A Party with what holds for it on one day."""

    party: Party
    as_of: dt.date
    categories: list[PriorityCategory]
    compliance: list[ComplianceCase]

    def __getattr__(self, name):
        return getattr(self.party, name)

    @property
    def is_ldc(self) -> bool:
        return PriorityCategory.LDC in self.categories

    @property
    def recently_acceded(self) -> bool:
        return PriorityCategory.RECENTLY_ACCEDED in self.categories

    @property
    def priority_categories(self) -> list[str]:
        return [str(c) for c in self.categories]

    @property
    def under_compliance_procedure(self) -> bool:
        return bool(self.compliance)


def standing(party: Party, on: dt.date, window_years: int) -> PartyStanding:
    return PartyStanding(party, on, priority_categories(party, on, window_years), open_compliance_cases(party, on))


def parties_query(*, region: CitesRegion | None = None, q: str | None = None) -> Select[tuple[Party]]:
    """Parties filtered by region and by a part of their name or code, by name."""
    query = select(Party).options(selectinload(Party.compliance_cases)).order_by(Party.name)
    if region:
        query = query.where(Party.cites_region == region)
    if q:
        needle = q.strip()
        query = query.where(
            or_(Party.name.icontains(needle, autoescape=True), Party.iso2 == needle.upper(),
                Party.iso3 == needle.upper())
        )
    return query


def list_standings(
    session: Session,
    *,
    on: dt.date,
    window_years: int,
    region: CitesRegion | None = None,
    q: str | None = None,
    category: str | None = None,
) -> list[PartyStanding]:
    """Every matching Party with its standing on `on` (only States that were Parties by then);
    `category` keeps those in it."""
    query = parties_query(region=region, q=q).where(Party.entry_into_force <= on)
    result = [standing(p, on, window_years) for p in session.scalars(query)]
    if category == "any":
        return [s for s in result if s.categories]
    if category == "compliance":
        return [s for s in result if s.compliance]
    if category:
        wanted = PriorityCategory(category)
        return [s for s in result if wanted in s.categories]
    return result


def get_party(session: Session, iso2: str) -> Party:
    """The Party with this ISO2 code, or NotFound."""
    party = find_party(session, iso2)
    if party is None:
        raise NotFound(f"No Party with the code {iso2!r}.", errors={"party": [f"Unknown Party {iso2!r}."]})
    return party


def find_party(session: Session, iso2: str) -> Party | None:
    return session.scalar(select(Party).where(Party.iso2 == iso2.strip().upper()))


def open_compliance_case(
    session: Session,
    party: Party,
    *,
    procedure: ComplianceProcedure,
    started_on: dt.date,
    reference: str | None,
    note: str | None,
    actor: Actor,
    now: dt.datetime,
) -> ComplianceCase:
    """Mark a Party as under a compliance procedure; one open case per procedure."""
    actor.require(PARTIES_MANAGE)
    if started_on > now.date():
        raise InvalidInput("A procedure cannot start in the future.", errors={"started_on": ["Must not be after today."]})
    for case in party.compliance_cases:
        if case.procedure == procedure and case.ended_on is None:
            raise Conflict(
                f"{party.name} is already under this procedure since {case.started_on}.",
                errors={"procedure": ["Already open."]},
            )
    case = ComplianceCase(
        party=party, procedure=procedure, started_on=started_on,
        reference=reference, note=note, created_at=now,
    )
    session.add(case)
    record_audit(
        session, actor, "party.compliance_opened", party, now=now, reason=note,
        detail={"procedure": str(procedure), "started_on": started_on.isoformat(), "reference": reference},
    )
    return case


def end_compliance_case(
    session: Session, case: ComplianceCase, *, ended_on: dt.date, reason: str, actor: Actor, now: dt.datetime
) -> ComplianceCase:
    """Close an open compliance procedure on `ended_on`, with the reason."""
    actor.require(PARTIES_MANAGE)
    if case.ended_on is not None:
        raise Conflict(f"This procedure already ended on {case.ended_on}.")
    if ended_on < case.started_on:
        raise InvalidInput("A procedure cannot end before it started.", errors={"ended_on": [f"Must be on or after {case.started_on}."]})
    case.ended_on = ended_on
    record_audit(
        session, actor, "party.compliance_ended", case.party, now=now, reason=reason,
        detail={"procedure": str(case.procedure), "ended_on": ended_on.isoformat()},
    )
    return case


def get_compliance_case(session: Session, case_id: int) -> ComplianceCase:
    case = session.get(ComplianceCase, case_id)
    if case is None:
        raise NotFound(f"No compliance case {case_id}.")
    return case
