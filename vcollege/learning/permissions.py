"""The learning area's permissions.

Learners act on their own enrolments (the services check that the enrolment is theirs), so
taking a course needs no permission of its own.
"""

from vcollege.core.models import Role
from vcollege.core.permissions import define_permission

ENROLMENTS_READ = define_permission(
    "enrolments:read", "See enrolments and learners' progress", roles=(Role.TRAINER,), token_scope=True,
)
ENROLMENTS_MANAGE = define_permission(
    "enrolments:manage", "Enrol and withdraw learners, import rosters, waive modules or courses",
    roles=(Role.TRAINER,), token_scope=True,
)
COMPLETIONS_READ = define_permission(
    "completions:read", "Read completions and their credentials", roles=(Role.TRAINER,), token_scope=True,
)
CREDENTIALS_REVOKE = define_permission(
    "credentials:revoke", "Revoke a certificate and its Open Badge",
)
