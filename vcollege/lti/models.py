"""LTI models: platforms, deployments, tool keys, identities, contexts, resource links,
launch records and the AGS outbox.

Invariants held by the schema:
- a platform is one (issuer, client id) pair; one issuer may hold several client ids;
- a deployment id is unique within its platform;
- a person reached from an LMS is found by (issuer, subject), never by e-mail;
- a context is unique within its deployment, a resource link within its deployment;
- a launch record's state and nonce are unique; a consumed record never validates again;
- an outbox row's dedupe key is unique, so the same change is queued (and sent) once;
- a tool key's private half never leaves the database except to sign.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vcollege.core.models import Person
from vcollege.extensions import UTCDateTime, db, string_enum


class PlatformStatus(StrEnum):
    PENDING = "pending"  # registered (dynamically or by hand), waiting for approval
    ACTIVE = "active"  # launches accepted
    DISABLED = "disabled"  # launches refused, scores held


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    SENT = "sent"
    FAILED = "failed"  # gave up after the maximum attempts; a person may retry
    SUPERSEDED = "superseded"  # a newer score of the same learner and link replaced it; never sent


class LtiPlatform(db.Model):
    """An LMS registration: what pylti1p3 calls a Registration."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(255), index=True)
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    key_set_url: Mapped[str] = mapped_column(String(1000))
    auth_audience: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[PlatformStatus] = mapped_column(string_enum(PlatformStatus, 20), default=PlatformStatus.PENDING)
    registered_via: Mapped[str] = mapped_column(String(20), default="manual")  # manual, cli, dynamic, demo
    product: Mapped[str | None] = mapped_column(String(200))  # product_family_code from registration
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    key_set: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))  # the platform's JWKS, cached
    key_set_fetched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Origins the Secretariat allowed to frame the tool besides the platform's own URLs
    # (Canvas frames the tool from the school's domain, not from its issuer); audited.
    extra_frame_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The last origin a valid launch came from that may not frame the tool: only a
    # suggestion for the Secretariat, never allowed by itself.
    last_unlisted_origin: Mapped[str | None] = mapped_column(String(255))
    last_unlisted_origin_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    approved_by: Mapped[Person | None] = relationship()
    deployments: Mapped[list[LtiDeployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="LtiDeployment.id"
    )

    @property
    def title(self) -> str:
        return f"{self.name} ({self.client_id})"

    def __repr__(self) -> str:
        return f"<LtiPlatform {self.id} {self.issuer} {self.client_id}>"


class LtiDeployment(db.Model):
    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    platform: Mapped[LtiPlatform] = relationship(back_populates="deployments")


class LtiIdentity(db.Model):
    """A person as an LMS knows them: (issuer, subject) → person."""

    __tablename__ = "lti_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_launch_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship()


class LtiContext(db.Model):
    """A course (context) of an LMS that launched the tool; the cohorts area ties cohorts to it."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("deployment_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("lti_deployments.id", ondelete="CASCADE"), index=True)
    context_id: Mapped[str] = mapped_column(String(255))
    label: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(500))
    memberships_url: Mapped[str | None] = mapped_column(String(1000))  # NRPS
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_launch_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    deployment: Mapped[LtiDeployment] = relationship()

    @property
    def platform(self) -> LtiPlatform:
        return self.deployment.platform


class LtiResourceLink(db.Model):
    """A placement of the tool in an LMS course, pointing at one vcollege course.

    Its grade service is what ITS latest launch's AGS claim gave (line item, line items URL,
    scopes), replaced at every launch and cleared by a launch without the claim: scores go
    only to a link whose own launch carried the claim, never through another link of the
    same LMS course.
    """

    __tablename__ = "lti_resource_links"
    __table_args__ = (UniqueConstraint("deployment_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("lti_deployments.id", ondelete="CASCADE"), index=True)
    context_id: Mapped[int | None] = mapped_column(ForeignKey("lti_contexts.id", ondelete="SET NULL"), index=True)
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(500))
    course_slug: Mapped[str | None] = mapped_column(String(120), index=True)
    lineitem_url: Mapped[str | None] = mapped_column(String(1000))  # AGS claim: the link's line item
    lineitems_url: Mapped[str | None] = mapped_column(String(1000))  # AGS claim: the line items container
    ags_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)  # AGS claim: the scopes granted
    # The line item the tool found (or created) in `lineitems_url` when the claim named none;
    # forgotten when a launch changes or drops the line items URL, or names a line item.
    found_lineitem_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_launch_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    deployment: Mapped[LtiDeployment] = relationship()
    context: Mapped[LtiContext | None] = relationship()
    members: Mapped[list[LtiResourceLinkMember]] = relationship(
        back_populates="resource_link", cascade="all, delete-orphan"
    )


class LtiResourceLinkMember(db.Model):
    """Who launched a resource link: where their scores for its course are sent, and the
    roles their latest launch of it gave them (an instructor of the link sees its learners)."""

    __tablename__ = "lti_resource_link_members"
    __table_args__ = (UniqueConstraint("resource_link_id", "identity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_link_id: Mapped[int] = mapped_column(ForeignKey("lti_resource_links.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("lti_identities.id", ondelete="CASCADE"), index=True)
    first_launch_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_launch_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    learner: Mapped[bool] = mapped_column(default=False)
    instructor: Mapped[bool] = mapped_column(default=False)

    resource_link: Mapped[LtiResourceLink] = relationship(back_populates="members")
    identity: Mapped[LtiIdentity] = relationship()


class LtiLaunch(db.Model):
    """One OIDC login and the launch that completes it, kept server-side.

    The login writes state, nonce and expiry; a valid launch consumes the record (so a
    replayed id_token fails) and keeps the launch data until `data_expires_at`.
    """

    __tablename__ = "lti_launches"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(100), unique=True)
    nonce: Mapped[str] = mapped_column(String(100), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"), index=True)
    login_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    storage_target: Mapped[str | None] = mapped_column(String(200))  # lti_storage_target
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    consumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    launch_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    message_type: Mapped[str | None] = mapped_column(String(60))
    launch_data: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    data_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    resource_link_id: Mapped[int | None] = mapped_column(ForeignKey("lti_resource_links.id", ondelete="SET NULL"))
    # postMessage storage path: SHA-256 of the random value the login page put into the
    # platform's storage; the launch page reads it back and the confirmation must match it.
    storage_secret: Mapped[str | None] = mapped_column(String(64))

    platform: Mapped[LtiPlatform] = relationship()
    person: Mapped[Person | None] = relationship()
    resource_link: Mapped[LtiResourceLink | None] = relationship()


class AgsOutbox(db.Model):
    """A score waiting to be posted to an LMS line item; drained by a job with retries."""

    __tablename__ = "lti_ags_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    resource_link_id: Mapped[int] = mapped_column(ForeignKey("lti_resource_links.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("lti_identities.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    course_slug: Mapped[str] = mapped_column(String(120))
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))  # None: a waived course, no grade
    activity_progress: Mapped[str] = mapped_column(String(20))
    grading_progress: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # the score's timestamp
    status: Mapped[OutboxStatus] = mapped_column(string_enum(OutboxStatus, 20), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    resource_link: Mapped[LtiResourceLink] = relationship()
    identity: Mapped[LtiIdentity] = relationship()
    person: Mapped[Person] = relationship()
