"""The LTI 1.3 vocabulary the tool speaks: claim names, message types, service scopes and
the mapping of LIS roles to ours. One definition each; every LTI module imports them here.

Invariants:
- Learner (a context or an institution role) maps to learner; Instructor,
  TeachingAssistant and ContentDeveloper map to trainer; every other role (Mentor,
  Observer, Administrator, system roles...) maps to nothing;
- no role ever maps to the Secretariat role.
"""

from __future__ import annotations

from vcollege.core.models import Role

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
ROLES = LTI + "roles"
CONTEXT = LTI + "context"
RESOURCE_LINK = LTI + "resource_link"
CUSTOM = LTI + "custom"
LAUNCH_PRESENTATION = LTI + "launch_presentation"
TARGET_LINK_URI = LTI + "target_link_uri"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
SUPPORTED_MESSAGES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)

# Assignment and Grade Services and Names and Role Provisioning Services scopes.
AGS_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
AGS_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
AGS_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
AGS_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS_MEMBERSHIPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = (AGS_LINEITEM, AGS_LINEITEM_READONLY, AGS_RESULT_READONLY, AGS_SCORE)
TOOL_SCOPES = (*AGS_SCOPES, NRPS_MEMBERSHIPS)  # what the tool asks a platform for

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
TRAINER_ROLES = {"Instructor", "TeachingAssistant", "ContentDeveloper"}
LEARNER_ROLES = {"Learner"}


def map_roles(role_uris: list[str]) -> set[Role]:
    """LIS roles → ours: Learner → learner; Instructor, TeachingAssistant, ContentDeveloper → trainer.

    Context (membership) and institution roles count, full URIs or the short names LTI 1.3
    allows for context roles; system roles (Administrator...) and every other role (Mentor,
    Observer...) grant nothing, and nothing ever yields the Secretariat role.
    """
    roles: set[Role] = set()
    for uri in role_uris or []:
        if not isinstance(uri, str):
            continue
        if uri.startswith(LIS):
            rest = uri[len(LIS):]
            if not (rest.startswith("membership") or rest.startswith("institution/person")):
                continue
            names = {part for part in rest.replace("/", "#").split("#")[1:] if part}
        elif "/" in uri or ":" in uri:
            continue
        else:
            names = {uri}
        if names & TRAINER_ROLES:
            roles.add(Role.TRAINER)
        if names & LEARNER_ROLES:
            roles.add(Role.LEARNER)
    return roles

