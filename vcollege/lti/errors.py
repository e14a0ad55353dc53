"""The refusals of the LTI edge: each says what was wrong, with a stable code.

They are `VCollegeError`s, so the one handler answers a problem document to LMS and API
callers and an error page to people.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from vcollege.errors import BadRequest, Forbidden, Unauthorized


class LaunchRefused(BadRequest):
    code, title = "lti-launch-refused", _l("The LTI launch was refused")


class UnknownIssuer(LaunchRefused):
    code = "lti-unknown-issuer"


class UnknownClient(LaunchRefused):
    code = "lti-unknown-client"


class UnknownDeployment(LaunchRefused):
    code = "lti-unknown-deployment"


class PlatformNotActive(Forbidden):
    code, title = "lti-platform-not-active", _l("This learning platform is not approved yet")


class BadToken(Unauthorized):
    code, title = "lti-bad-token", _l("The LTI launch was refused")


class BadSignature(BadToken):
    code = "lti-bad-signature"


class UnknownKey(BadToken):
    code = "lti-unknown-kid"


class TokenExpired(BadToken):
    code = "lti-token-expired"


class TokenNotYetValid(BadToken):
    code = "lti-token-not-yet-valid"


class WrongAudience(BadToken):
    code = "lti-wrong-audience"


class NonceReused(BadToken):
    code = "lti-nonce-reused"


class NonceMismatch(BadToken):
    code = "lti-nonce-mismatch"


class StateMismatch(LaunchRefused):
    code = "lti-state-mismatch"


class WrongMessage(LaunchRefused):
    code = "lti-wrong-message"


class MissingClaim(LaunchRefused):
    code = "lti-missing-claim"


class CrossSiteRequest(Forbidden):
    """A request that must come from the tool's own pages came from elsewhere."""

    code, title = "lti-cross-site-request", _l("The LTI launch was refused")


class ServiceFailed(Exception):
    """An LMS service call (token, AGS, NRPS, registration) failed; the caller decides."""

    def __init__(self, message: str, status: int | None = None, *, unreachable: bool = False):
        super().__init__(message)
        self.status = status
        self.unreachable = unreachable  # no answer at all (connection refused, time-out)

    @property
    def platform_down(self) -> bool:
        return self.unreachable or (self.status or 0) >= 500


class CookiesBlocked(LaunchRefused):
    """Not a refusal of the launch (it succeeded) but of the browser: no cookie in the frame."""

    code, title = "lti-cookies-blocked", _l("Open the course in a new window")
