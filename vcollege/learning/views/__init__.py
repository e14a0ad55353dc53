"""Learning pages, one module per audience: `learner` (home and course player), `teaching`
(trainers' pages), `credentials` (certificates, badges, verification, the issuer's documents,
the Secretariat's revocation page). This module holds the blueprint and what they share.

The player works inside an LMS iframe: every form posts to this site, nothing needs a new
window, and links in course texts open outside the frame.
"""
from __future__ import annotations

from flask import Blueprint
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

from vcollege.auth import current_actor
from vcollege.learning.models import EnrolmentStatus
from vcollege.learning.permissions import CREDENTIALS_REVOKE, ENROLMENTS_READ
from vcollege.web.navigation import NavItem, add_nav_item

bp = Blueprint("learning", __name__, template_folder="../templates", static_folder="../static",
               static_url_path="/static/learning")

add_nav_item(NavItem(_l("My learning"), "learning.home", "signed-in", order=20))
add_nav_item(NavItem(_l("Teaching"), "learning.teach_courses", ENROLMENTS_READ, order=30))
add_nav_item(NavItem(_l("Credentials"), "learning.credential_admin", CREDENTIALS_REVOKE, order=78))

# Sections other areas add to the learner's home (scholarships: "my applications"):
# (template name, function(person) -> context dict).
HOME_SECTIONS: list[tuple[str, object]] = []

STATUS_LABELS = {
    EnrolmentStatus.ACTIVE: _l("In progress"),
    EnrolmentStatus.COMPLETED: _l("Completed"),
    EnrolmentStatus.WITHDRAWN: _l("Withdrawn"),
    EnrolmentStatus.EXPIRED: _l("Expired"),
}


@bp.app_template_global()
def enrolment_status_label(status) -> str:
    return str(STATUS_LABELS.get(EnrolmentStatus(status), status))


@bp.app_template_global()
def language_autonym(code: str) -> str:
    """A language named in itself (`fr` -> "Français"), as a language switcher shows it."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:] if name else code


@bp.app_template_filter("score")
def score_filter(value) -> str:
    return "—" if value is None else f"{format_decimal(round(float(value), 1))} %"



def _person():
    return current_actor().person


# The learner's home -----------------------------------------------------------------------



from vcollege.learning.views import credentials, learner, teaching  # noqa: E402,F401  (register the routes)
from vcollege.learning.views.credentials import certificate_text  # noqa: E402,F401
