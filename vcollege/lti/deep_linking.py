"""Deep linking: an instructor picks catalogue courses; the tool answers the platform with
signed `ltiResourceLink` items.

Invariants:
- only a launch of type LtiDeepLinkingRequest, by someone mapped to trainer, still within its
  data lifetime, may answer; it answers once (its data is dropped afterwards);
- each item carries `custom.course = <slug>` and a line item (scoreMaximum 100, label,
  resourceId = slug); the response echoes the request's `data` and is signed with the
  tool's current key (pylti1p3's DeepLink builds and signs it);
- with `accept_multiple` false, one course at most.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem
from sqlalchemy.orm import Session

from vcollege.catalogue.models import CourseVersion
from vcollege.catalogue.service import list_courses, localized
from vcollege.core.models import Role
from vcollege.errors import Forbidden, InvalidInput, NotFound
from vcollege.lti.claims import (
    DEEP_LINKING_REQUEST,
    DEEP_LINKING_SETTINGS,
    DEPLOYMENT_ID,
    ROLES,
    map_roles,
)
from vcollege.lti.keys import ensure_signing_key
from vcollege.lti.models import LtiLaunch
from vcollege.lti.tool import PlatformRegistration


@dataclass(frozen=True)
class CatalogueItem:
    slug: str
    title: str
    summary: str = ""
    languages: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    competencies: tuple[str, ...] = ()
    hours: Any = None


@dataclass(frozen=True)
class CatalogueFilters:
    language: str | None = None
    audience: str | None = None
    competency: str | None = None
    extra: dict = field(default_factory=dict)


def catalogue_versions(session: Session) -> list[CourseVersion]:
    """The current versions of the active courses an instructor may link (one query)."""
    return list_courses(session)


def _matches(version: CourseVersion, filters: CatalogueFilters) -> bool:
    # the catalogue's own filters (`list_courses`), applied to versions already read
    return ((not filters.language or filters.language in version.languages)
            and (not filters.audience or str(filters.audience) in version.audiences)
            and (not filters.competency or filters.competency in version.competencies))


def catalogue_items(versions: list[CourseVersion], filters: CatalogueFilters,
                    display_language: str | None = None) -> list[CatalogueItem]:
    """The courses among `versions` matching `filters`; titles in the filtered language,
    else `display_language`, else English."""
    language = filters.language or display_language or "en"
    return [
        CatalogueItem(
            slug=version.course.slug, title=localized(version.title, language)[1],
            summary=localized(version.summary, language)[1], languages=tuple(version.languages),
            audiences=tuple(version.audiences), competencies=tuple(version.competencies), hours=version.hours,
        )
        for version in versions if _matches(version, filters)
    ]


def filter_options(versions: list[CourseVersion]) -> dict[str, list[str]]:
    """The values each catalogue filter may take."""
    return {
        "language": sorted({lang for v in versions for lang in v.languages}),
        "audience": sorted({str(a) for v in versions for a in v.audiences}),
        "competency": sorted({c for v in versions for c in v.competencies}),
    }


def deep_linking_settings(launch: LtiLaunch) -> dict:
    return (launch.launch_data or {}).get(DEEP_LINKING_SETTINGS) or {}


def check_deep_linking_launch(launch: LtiLaunch) -> None:
    """Refuse anything but a live deep-linking launch by a trainer."""
    if launch.message_type != DEEP_LINKING_REQUEST or launch.launch_data is None:
        raise NotFound("This is not a deep-linking launch.")
    if Role.TRAINER not in map_roles(launch.launch_data.get(ROLES) or []):
        raise Forbidden("Only an instructor of the LMS course may choose courses to link.")


@dataclass
class DeepLinkAnswer:
    return_url: str
    jwt: str
    items: list[dict]


def answer_deep_link(session: Session, launch: LtiLaunch, chosen: list[CatalogueItem], *, launch_url: str,
                     now: dt.datetime) -> DeepLinkAnswer:
    """Sign the deep-linking response for `chosen` and close the launch."""
    check_deep_linking_launch(launch)
    settings = deep_linking_settings(launch)
    if not chosen:
        raise InvalidInput("Choose at least one course.", errors={"course": ["Choose at least one course."]})
    multiple = str(settings.get("accept_multiple", True)).lower() != "false"
    if len(chosen) > 1 and not multiple:
        raise InvalidInput("The LMS accepts one course only here.", errors={"course": ["Choose one course."]})
    registration = PlatformRegistration(launch.platform, ensure_signing_key(session, now=now))
    resources = []
    for item in chosen:
        line_item = LineItem().set_score_maximum(100).set_label(item.title).set_resource_id(item.slug)
        resources.append(
            DeepLinkResource().set_url(launch_url).set_title(item.title).set_lineitem(line_item)
            .set_custom_params({"course": item.slug})
        )
    deep_link = DeepLink(registration, launch.launch_data[DEPLOYMENT_ID], settings)
    message = deep_link.get_message_jwt(resources)
    if "data" not in settings:
        message.pop("https://purl.imsglobal.org/spec/lti-dl/claim/data", None)
    token = deep_link.encode_jwt(message)
    launch.launch_data = None  # answered once
    launch.data_expires_at = now
    session.flush()
    return DeepLinkAnswer(settings["deep_link_return_url"], token,
                          message["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"])
