"""OIDC login and launch: pylti1p3's flow with our storage and our checks.

Invariants:
- the login stores state, nonce, the login parameters and an expiry server-side
  (`lti_launches`); the launch must present that state, and the id_token that nonce;
- a launch record is consumed atomically on first use, so a replayed id_token fails;
- launch data lives in that record until `data_expires_at`, never in the cookie session;
- the browser proves it started the login by the state cookie, or, where the platform
  offers it, through the LTI client-side postMessage storage: the login page puts a random
  value into the platform's storage, the launch page (which never contains it) reads it
  back, and a same-origin confirmation must carry it;
- every refusal raises before anything is written (the edge rolls back), names what was
  wrong and has its own code;
- an id_token needs `exp` and `iat`, an `aud` holding our client id (and `azp` equal to it
  when `aud` has several values), a known deployment, LTI 1.3.0 and its required claims;
- nobody gets the Secretariat role from an LMS: people are created and granted roles by an
  explicit LTI actor holding only `roles:grant` and `people:manage`.

The package: `login` (OIDC login), `launch` (verification and confirmation), `outcome`
(what a verified launch changes). Its public names are importable from here.
"""

from vcollege.lti.claims import (
    AGS_ENDPOINT,
    CONTEXT,
    CUSTOM,
    DEEP_LINKING_REQUEST,
    DEEP_LINKING_SETTINGS,
    DEPLOYMENT_ID,
    LAUNCH_PRESENTATION,
    MESSAGE_TYPE,
    NRPS,
    RESOURCE_LINK,
    RESOURCE_LINK_REQUEST,
    ROLES,
    SUPPORTED_MESSAGES,
    TARGET_LINK_URI,
    VERSION,
    map_roles,
)
from vcollege.lti.launches.launch import (
    CLOCK_LEEWAY,
    LAUNCH_DATA_LIFETIME,
    ToolMessageLaunch,
    ValidLaunch,
    confirm_storage_launch,
    find_launch,
    prune_launches,
    validate_launch,
)
from vcollege.lti.launches.login import (
    LOGIN_LIFETIME,
    STATE_COOKIE_PREFIX,
    LoginRedirect,
    start_login,
    state_cookie_name,
    storage_key,
)
from vcollege.lti.launches.outcome import (
    LaunchOutcome,
    complete_launch,
    enrol_from_launch,
    lti_actor,
    record_member,
    upsert_context,
    upsert_person,
    upsert_resource_link,
)

__all__ = [
    "AGS_ENDPOINT", "CLOCK_LEEWAY", "CONTEXT", "CUSTOM", "DEEP_LINKING_REQUEST", "DEEP_LINKING_SETTINGS",
    "DEPLOYMENT_ID", "LAUNCH_DATA_LIFETIME", "LAUNCH_PRESENTATION", "LOGIN_LIFETIME", "MESSAGE_TYPE", "NRPS",
    "RESOURCE_LINK", "RESOURCE_LINK_REQUEST", "ROLES", "STATE_COOKIE_PREFIX", "SUPPORTED_MESSAGES",
    "TARGET_LINK_URI", "VERSION", "LaunchOutcome", "LoginRedirect", "ToolMessageLaunch", "ValidLaunch",
    "complete_launch", "confirm_storage_launch", "enrol_from_launch", "find_launch", "lti_actor", "map_roles",
    "prune_launches", "record_member", "start_login", "state_cookie_name", "storage_key", "upsert_context",
    "upsert_person", "upsert_resource_link", "validate_launch",
]
