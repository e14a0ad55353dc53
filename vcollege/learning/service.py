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
    refuse_revoked,
    revocation_list,
    revoke_credential,
    signed_badge,
    waived_module_titles,
)
from vcollege.learning.enrolments import (
    RosterResult,
    course_enrolments_query,
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
    missing_prerequisites_of,
    open_module,
    record_attendance_rate,
    record_completion,
    submit_quiz,
    waive_course,
    waive_module,
)
from vcollege.learning.rules import (
    CourseState,
    ModuleState,
    answers_revealed,
    course_state,
    feedback,
    grade,
)

__all__ = [
    "COMPLETIONS_READ", "CREDENTIALS_REVOKE", "ENROLMENTS_MANAGE", "ENROLMENTS_READ",
    "CertificateText", "CourseState", "EnrolmentSource", "EnrolmentStatus", "IssuerUrls", "ModuleState",
    "ModuleView", "Outcome", "PrerequisitesMissing", "RosterResult",
    "answers_revealed", "available_languages", "badge_credential", "course_enrolments_query", "course_state",
    "enrol_learner", "enrol_roster", "expire_enrolments", "feedback", "find_credential", "find_enrolment",
    "get_credential", "get_enrolment", "get_own_enrolment", "grade", "issuer_profile", "list_completions",
    "list_course_enrolments", "list_own_enrolments", "mark_read", "missing_prerequisites",
    "missing_prerequisites_of", "module_view", "move_to_version", "normalise_code", "open_module", "public_key",
    "read_roster", "record_attendance_rate", "record_completion", "refuse_revoked", "render_certificate",
    "render_markdown", "revocation_list", "revoke_credential", "signed_badge", "submit_quiz", "waive_course",
    "waive_module", "waived_module_titles", "wanted_language", "withdraw",
]
