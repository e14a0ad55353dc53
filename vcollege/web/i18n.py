"""Interface language: the person's preference, then the session's choice (a language menu,
an LTI launch locale), then the browser's Accept-Language, then the default."""

from __future__ import annotations

from flask import Flask, current_app, request, session
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

from vcollege.extensions import babel

SESSION_LANGUAGE = "vcollege_lang"

LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español"}


def interface_languages() -> list[str]:
    return current_app.config["LANGUAGES"]


def select_locale() -> str:
    languages = interface_languages()
    chosen = session.get(SESSION_LANGUAGE)
    if current_user and current_user.is_authenticated and current_user.preferred_language:
        preferred = current_user.preferred_language.split("-")[0]
        if preferred in languages:
            return preferred
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]


def remember_language(code: str) -> bool:
    """Keep an interface language chosen in this session; False if it is not offered."""
    if code not in interface_languages():
        return False
    session[SESSION_LANGUAGE] = code
    return True


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["format_date"] = format_date
    app.jinja_env.filters["format_datetime"] = format_datetime

    @app.context_processor
    def language_context():
        return {
            "current_language": str(get_locale() or app.config["LANGUAGES"][0]),
            "interface_languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in app.config["LANGUAGES"]],
        }
