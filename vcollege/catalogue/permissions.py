"""The catalogue's permissions: reading courses (everyone who learns, teaches or integrates)
and managing the catalogue (sync, translation coverage: the Secretariat)."""

from vcollege.core.models import Role
from vcollege.core.permissions import define_permission

COURSES_READ = define_permission(
    "courses:read", "Read the course catalogue (courses, versions, modules without quiz answers)",
    roles=(Role.LEARNER, Role.TRAINER), token_scope=True, lms=True,
)
CATALOGUE_MANAGE = define_permission(
    "catalogue:manage", "Sync the catalogue from courses/ and follow its translation coverage",
)
