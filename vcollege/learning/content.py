"""Course content as the player shows it: the language to show, and module Markdown rendered
to safe HTML.

Invariants:
- the content language is the one the learner chose in the player, else their profile's,
  else the launch locale, else English; a module missing in that language is shown in
  English and the player names the language it lacks;
- Markdown is rendered by markdown-it-py (CommonMark with tables) and the HTML is then
  cleaned by nh3 (Ammonia) with an allow-list: raw HTML in a course file can add formatting
  but never a script, a style, a frame, a form or an event handler; links open outside the
  LMS frame with `rel="noopener noreferrer"`;
- what leaves here for the browser before a quiz is submitted has no `correct` flag and no
  explanation (`public_quiz`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import nh3
from markdown_it import MarkdownIt

from vcollege.catalogue.models import CourseVersion, Module
from vcollege.catalogue.service import DEFAULT_LANGUAGE, localized, module_in, public_quiz, quiz_in

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "caption", "img", "sup", "sub",
    "dl", "dt", "dd", "abbr", "figure", "figcaption", "del", "ins", "mark", "span",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"scope", "colspan", "rowspan", "style"},
    "td": {"colspan", "rowspan", "style"},
    "ol": {"start"},
    "abbr": {"title"},
    "*": {"lang", "dir"},
}


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable("table")


@lru_cache(maxsize=1024)
def render_markdown(text: str) -> str:
    """Markdown to sanitised HTML; a level-one heading becomes a level two (the page has one).

    Course versions never change once loaded, so a text renders the same every time: the
    result is cached (a pure function of the text)."""
    html = _markdown().render(text or "")
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return nh3.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer", set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties={"text-align"},
    )


def wanted_language(*, chosen: str | None, profile: str | None, launch: str | None) -> str:
    """The language a learner should get: chosen in the player, else profile, else launch locale."""
    for code in (chosen, profile, launch):
        if code:
            return code.replace("_", "-")
    return DEFAULT_LANGUAGE


def same_language(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.split("-")[0].lower() == b.split("-")[0].lower()


def available_languages(version: CourseVersion) -> list[tuple[str, bool]]:
    """(language, complete) for every language the version has any module in: the complete
    ones first (English first among them), then the partial ones."""
    complete = list(dict.fromkeys([DEFAULT_LANGUAGE, *version.languages]))
    partial = sorted({code for m in version.modules for code in (m.content or {})} - set(complete))
    return [(code, True) for code in complete] + [(code, False) for code in partial]


@dataclass(frozen=True)
class ModuleView:
    module: Module
    wanted: str
    language: str  # the language actually shown
    title: str
    html: str
    questions: list[dict[str, Any]]  # public: no correct flags, no explanations

    @property
    def fallback(self) -> bool:
        return not same_language(self.wanted, self.language)


def module_view(module: Module, wanted: str) -> ModuleView:
    """A module in the wanted language (or English), rendered, with its quiz as the learner
    may see it before answering."""
    lang, title, markdown = module_in(module, wanted)
    _quiz_lang, questions = quiz_in(module, lang)
    return ModuleView(module, wanted, lang, title, render_markdown(markdown), public_quiz(questions))


def course_title(version: CourseVersion, wanted: str) -> tuple[str, str]:
    return localized(version.title, wanted)
