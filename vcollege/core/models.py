"""Core models: Parties, people and their roles, staff accounts, API tokens, the audit log,
and the scheduler's lease and job runs.

Invariants held by the schema:
- a Party is identified by its ISO 3166 alpha-2 code (`EU` for the European Union);
- a person holds each role at most once;
- a staff account belongs to one person and its e-mail is unique, stored lower-case;
- an API token is stored only as a SHA-256 hash of the secret;
- audit rows are never updated or deleted by the application.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vcollege.extensions import UTCDateTime, db, string_enum


class CitesRegion(StrEnum):
    AFRICA = "Africa"
    ASIA = "Asia"
    CENTRAL_SOUTH_AMERICA_CARIBBEAN = "Central and South America and the Caribbean"
    EUROPE = "Europe"
    NORTH_AMERICA = "North America"
    OCEANIA = "Oceania"


class Agency(StrEnum):
    MANAGEMENT_AUTHORITY = "management_authority"
    SCIENTIFIC_AUTHORITY = "scientific_authority"
    CUSTOMS = "customs"
    ENFORCEMENT = "enforcement"  # police and wildlife enforcement
    JUDICIARY = "judiciary"  # judiciary and prosecution
    OTHER = "other"


class Role(StrEnum):
    LEARNER = "learner"
    TRAINER = "trainer"
    SECRETARIAT = "secretariat"


class ComplianceProcedure(StrEnum):
    ARTICLE_XIII = "article_xiii"
    NATIONAL_LEGISLATION = "national_legislation"
    ANNUAL_REPORTS = "annual_reports"
    REVIEW_OF_SIGNIFICANT_TRADE = "review_of_significant_trade"
    NATIONAL_IVORY_ACTION_PLAN = "national_ivory_action_plan"
    OTHER = "other"


class Party(db.Model):
    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    iso2: Mapped[str] = mapped_column(String(2), unique=True)
    iso3: Mapped[str | None] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(120))
    cites_region: Mapped[CitesRegion] = mapped_column(string_enum(CitesRegion, 60))
    entry_into_force: Mapped[dt.date] = mapped_column(Date)
    ldc_listed: Mapped[bool] = mapped_column(default=False)
    ldc_graduation: Mapped[dt.date | None] = mapped_column(Date)
    lldc: Mapped[bool] = mapped_column(default=False)
    sids: Mapped[bool] = mapped_column(default=False)

    compliance_cases: Mapped[list[ComplianceCase]] = relationship(
        back_populates="party", order_by="ComplianceCase.started_on.desc()"
    )

    def __repr__(self) -> str:
        return f"<Party {self.iso2}>"


class ComplianceCase(db.Model):
    """A compliance procedure a Party is under, from `started_on` until `ended_on`."""

    __tablename__ = "compliance_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    procedure: Mapped[ComplianceProcedure] = mapped_column(string_enum(ComplianceProcedure))
    reference: Mapped[str | None] = mapped_column(String(200))
    started_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    party: Mapped[Party] = relationship(back_populates="compliance_cases")

    def open_on(self, day: dt.date) -> bool:
        return self.started_on <= day and (self.ended_on is None or day < self.ended_on)


class Person(UserMixin, db.Model):
    """Anyone the college knows: a learner from an LMS, a trainer, a Secretariat officer."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    preferred_language: Mapped[str | None] = mapped_column(String(12))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True)
    agency: Mapped[Agency | None] = mapped_column(string_enum(Agency))
    job_title: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    party: Mapped[Party | None] = relationship()
    roles: Mapped[list[PersonRole]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin",
        foreign_keys="PersonRole.person_id",
    )
    account: Mapped[StaffAccount | None] = relationship(back_populates="person", lazy="selectin")

    @property
    def role_names(self) -> set[Role]:
        return {r.role for r in self.roles}

    def has_role(self, role: Role) -> bool:
        return role in self.role_names

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.name!r}>"


class PersonRole(db.Model):
    __tablename__ = "person_roles"
    __table_args__ = (UniqueConstraint("person_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(string_enum(Role, 20))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    person: Mapped[Person] = relationship(back_populates="roles", foreign_keys=[person_id])


class StaffAccount(db.Model):
    """Password login for trainers and the Secretariat."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship(back_populates="account")


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[Person | None] = relationship()

    def usable_at(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class AuditEntry(db.Model):
    """Who changed what, when and why. Written in the same transaction as the change."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80), index=True)
    target_type: Mapped[str] = mapped_column(String(60))
    target_id: Mapped[str] = mapped_column(String(60))
    target_label: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[Person | None] = relationship()


class SchedulerLease(db.Model):
    """The scheduler's leader lock: whoever holds an unexpired lease runs the jobs."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    acquired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class JobRun(db.Model):
    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(80), index=True)
    holder: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))  # running, ok, error
    detail: Mapped[str | None] = mapped_column(Text)


class KeyPurpose(StrEnum):
    LTI = "lti"  # LTI messages and service-token assertions: short-lived, short grace
    CREDENTIALS = "credentials"  # certificates and Open Badges: verifiable for years


class SigningKey(db.Model):
    """An RSA key the college signs with, for one purpose.

    The active key of a purpose signs; a superseded key stays published until `expires_at`
    (never, for credentials), so that whatever it signed can still be verified.
    """

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[KeyPurpose] = mapped_column(string_enum(KeyPurpose, 20), index=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(10), default="RS256")
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
