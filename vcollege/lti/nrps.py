"""Names and Role Provisioning Services: the membership of an LMS context, every page.

pylti1p3's NamesRolesProvisioningService walks the pages through our connector, which keeps
the `rel="next"` URL exactly as the platform wrote it.
"""

from __future__ import annotations

import datetime as dt

from pylti1p3.names_roles import NamesRolesProvisioningService
from sqlalchemy import select
from sqlalchemy.orm import Session

from vcollege.errors import Conflict, NotFound
from vcollege.lti.keys import ensure_signing_key
from vcollege.lti.models import LtiContext
from vcollege.lti.tool import TOKENS, PlatformRegistration, TokenCache, ToolServiceConnector


def get_context(session: Session, ref: str) -> LtiContext:
    """A context by our id, or by the LMS's context id when that is unambiguous."""
    if ref.isdigit():
        context = session.get(LtiContext, int(ref))
        if context is not None:
            return context
    found = list(session.scalars(select(LtiContext).where(LtiContext.context_id == ref)))
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise Conflict(f"Several LMS contexts have the id {ref}; give our number instead.",
                       errors={"context": [f"Ambiguous: {', '.join(str(c.id) for c in found)}."]})
    raise NotFound(f"No LMS context {ref}.", errors={"context": ["Unknown."]})


def fetch_members(session: Session, context: LtiContext, *, now: dt.datetime, cache: TokenCache = TOKENS) -> list[dict]:
    """Every member of the context, all pages followed (ServiceFailed when the LMS refuses)."""
    if not context.memberships_url:
        raise Conflict("This context's launches offered no membership service.",
                       errors={"context": ["No NRPS URL."]})
    registration = PlatformRegistration(context.platform, ensure_signing_key(session, now=now))
    service = NamesRolesProvisioningService(ToolServiceConnector(registration, cache=cache),
                                            {"context_memberships_url": context.memberships_url})
    return service.get_members()
