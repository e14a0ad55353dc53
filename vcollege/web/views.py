"""Pages every visitor shares: home, the language menu, the health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text

from vcollege.auth import current_actor, safe_next
from vcollege.core.models import Party, Person
from vcollege.core.parties import list_standings
from vcollege.core.people import update_person
from vcollege.errors import InvalidInput
from vcollege.extensions import db, utcnow
from vcollege.web.i18n import remember_language
from vcollege.web.navigation import NavItem, add_nav_item, visible_items

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web")

add_nav_item(NavItem(_l("Home"), "web.home", order=0))


def form_data() -> dict[str, str]:
    """The posted form without the CSRF token, ready for a schema."""
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


@bp.app_context_processor
def navigation_context():
    actor = current_actor()
    return {"nav_items": visible_items(actor), "actor": actor}


@bp.get("/")
def home():
    today = utcnow().date()
    standings = list_standings(db.session, on=today, window_years=current_app.config["RECENTLY_ACCEDED_YEARS"])
    figures = {
        "parties": len(standings),
        "priority": sum(1 for s in standings if s.categories),
        "people": db.session.scalar(select(func.count(Person.id))) or 0,
    }
    return render_template("web/home.html", figures=figures, today=today)


@bp.post("/language")
def choose_language():
    code = request.form.get("language", "")
    if not remember_language(code):
        raise InvalidInput(f"The language {code!r} is not offered.", errors={"language": ["Not offered."]})
    actor = current_actor()
    person = actor.person
    # The profile's language also chooses course content: a Portuguese reader who switches
    # the interface to French keeps Portuguese content.
    keeps_content_language = person is not None and person.preferred_language and \
        person.preferred_language.split("-")[0] not in current_app.config["LANGUAGES"]
    if person is not None and person.preferred_language != code and not keeps_content_language:
        update_person(db.session, person, actor=actor, now=utcnow(), preferred_language=code)
        db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("web.home"))


@bp.get("/healthz")
def health():
    db.session.execute(text("SELECT 1"))
    parties = db.session.scalar(select(func.count(Party.id)))
    return jsonify({"status": "ok", "parties": parties})
