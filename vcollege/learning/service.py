"""The learning area's services in one place; each lives in a named module:

- `enrolments`: enrolling (launch, trainer, roster, API, CLI), withdrawing, expiring, moving
  to another version;
- `rules`: the completion rule and quiz grading (pure functions, see its docstring);
- `progress`: opening and reading modules, quiz attempts, waivers, attendance, and the
  completion they lead to (`completion_recorded`, `score_changed`);
- `credentials`: verification codes, Open Badges 3.0 credentials (VC-JWT), revocation;
- `certificates`: the certificate PDF;
- `content`: the content language and module Markdown rendered safely.

The LTI area calls `enrol_learner(session, person, version, source="lti", actor=..., now=...)`
on launch; the cohorts area calls `record_attendance_rate(session, enrolment, percent, ...)`.
"""

from vcollege.learning.certificates import CertificateText, render_certificate
from vcollege.learning.content import (
    ModuleView,
    available_languages,
    module_view,
    render_markdown,
    wanted_language,
)
from vcollege.learning.credentials import (
    IssuerUrls,
    badge_credential,
    find_credential,
    get_credential,
    issuer_profile,
    normalise_code,
    public_key,
    revoke_credential,
    signed_badge,
)
from vcollege.learning.enrolments import (
    RosterResult,
    enrol_learner,
    enrol_roster,
    expire_enrolments,
    find_enrolment,
    get_enrolment,
    get_own_enrolment,
    list_course_enrolments,
    list_own_enrolments,
    move_to_version,
    read_roster,
    withdraw,
)
from vcollege.learning.models import EnrolmentSource, EnrolmentStatus
from vcollege.learning.permissions import (
    COMPLETIONS_READ,
    CREDENTIALS_REVOKE,
    ENROLMENTS_MANAGE,
    ENROLMENTS_READ,
)
from vcollege.learning.progress import (
    Outcome,
    PrerequisitesMissing,
    list_completions,
    mark_read,
    missing_prerequisites,
    open_module,
    record_attendance_rate,
    record_completion,
    submit_quiz,
    waive_course,
    waive_module,
)
from vcollege.learning.rules import CourseState, ModuleState, course_state, grade

__all__ = [
    "COMPLETIONS_READ", "CREDENTIALS_REVOKE", "ENROLMENTS_MANAGE", "ENROLMENTS_READ",
    "CertificateText", "CourseState", "EnrolmentSource", "EnrolmentStatus", "IssuerUrls", "ModuleState",
    "ModuleView", "Outcome", "PrerequisitesMissing", "RosterResult",
    "available_languages", "badge_credential", "course_state", "enrol_learner", "enrol_roster",
    "expire_enrolments", "find_credential", "find_enrolment", "get_credential", "get_enrolment",
    "get_own_enrolment", "grade", "issuer_profile", "list_completions", "list_course_enrolments",
    "list_own_enrolments", "mark_read", "missing_prerequisites", "module_view", "move_to_version",
    "normalise_code", "open_module", "public_key", "read_roster", "record_attendance_rate",
    "record_completion", "render_certificate", "render_markdown", "revoke_credential", "signed_badge",
    "submit_quiz", "waive_course", "waive_module", "wanted_language", "withdraw",
]
