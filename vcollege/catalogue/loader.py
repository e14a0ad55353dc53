"""Reading and checking the catalogue folder (`courses/`, format in courses/README.md).

Invariants:
- the whole folder is read and checked before anything is written; every problem found is
  reported, each naming its file (relative to the folder), the line where the TOML parser
  or the Markdown reader gives one, and the field;
- a course's content hash is the SHA-256 of course.toml and every content file, read as
  UTF-8 with the byte-order mark dropped, line endings made `\\n`, text in Unicode NFC and
  one final newline: an edit that changes nothing a learner sees but these bytes (a comment,
  a reworded sentence) still makes a new version, so what a learner took is always known.

Written here rather than taken from a library: the format is ours. `tomllib` parses the
TOML and marshmallow (`schemas.py`) checks each file's shape; what is left is the folder
layout and the rules between files: translations against English, the competency list,
prerequisites that exist and do not form a cycle.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from vcollege.catalogue.schemas import (
    LANGUAGE_PATTERN,
    RESERVED_SLUGS,
    SLUG_PATTERN,
    CourseFileSchema,
    QuizFileSchema,
)
from vcollege.errors import InvalidInput

COURSE_FILE = "course.toml"
COMPETENCIES_FILE = "competencies.toml"
QUIZ_SUFFIX = ".quiz.toml"
MODULE_SUFFIX = ".md"
COMPETENCY_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_TOML_END = re.compile(r"\s*\(at end of document\)")
_HEADING = re.compile(r"^#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")


@dataclass(frozen=True)
class Problem:
    file: str  # relative to the catalogue folder, with `/`
    field: str
    message: str
    line: int | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


class CatalogueInvalid(InvalidInput):
    """The catalogue folder has problems; nothing was written. `problems` lists them all."""

    code, title = "catalogue-invalid", _l("The catalogue has errors")

    def __init__(self, root: Path, problems: list[Problem]):
        errors: dict[str, dict[str, list[str]]] = {}
        for problem in problems:
            errors.setdefault(problem.where, {}).setdefault(problem.field, []).append(problem.message)
        super().__init__(
            f"{len(problems)} error(s) in the catalogue {root}; nothing was written.",
            errors=errors,
        )
        self.problems = problems


@dataclass(frozen=True)
class Competency:
    id: str
    titles: dict[str, str]


@dataclass
class ModuleSpec:
    """A module as read from the files (same attribute names as `models.Module`)."""

    key: str
    position: int
    minutes: int
    pass_mark: int | None
    attempts: int | None
    title: dict[str, str] = field(default_factory=dict)
    content: dict[str, str] = field(default_factory=dict)
    quiz: dict[str, list[dict[str, Any]]] | None = None


@dataclass
class CourseSpec:
    """A course as read from its folder (same attribute names as `models.CourseVersion`)."""

    slug: str
    content_hash: str
    title: dict[str, str]
    summary: dict[str, str]
    audiences: list[str]
    competencies: list[str]
    delivery: str
    hours: float
    access: str
    languages: list[str]
    prerequisites: list[str]
    completion: dict[str, Any]
    modules: list[ModuleSpec]


@dataclass
class Catalogue:
    root: Path
    competencies: list[Competency]
    courses: list[CourseSpec]

    @property
    def slugs(self) -> set[str]:
        return {c.slug for c in self.courses}


def normalise_text(text: str) -> str:
    """The form in which content is hashed and stored (see the module's invariants)."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text).rstrip("\n") + "\n"


def content_hash(files: dict[str, str]) -> str:
    """SHA-256 over the normalised files, by their path inside the course folder."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(files[name].encode())
        digest.update(b"\0")
    return digest.hexdigest()


def course_folders(root: Path) -> list[Path]:
    """The course folders of the catalogue (every visible sub-folder), by name."""
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


class _Problems:
    def __init__(self, root: Path):
        self.root = root
        self.items: list[Problem] = []

    def __len__(self) -> int:
        return len(self.items)

    def relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def add(self, path: Path, field_name: str, message: str, line: int | None = None) -> None:
        self.items.append(Problem(self.relative(path), field_name, message, line))

    def add_messages(self, path: Path, messages: Any, raw: Any) -> None:
        """Flatten marshmallow's nested messages into one problem per field path."""
        for field_path, message in _flatten(messages, raw, ""):
            self.add(path, field_path or "file", message)

    def raise_if_any(self) -> None:
        if self.items:
            raise CatalogueInvalid(self.root, self.items)


def _flatten(messages: Any, raw: Any, prefix: str) -> Iterable[tuple[str, str]]:
    """`{"modules": {1: {"minutes": [...]}}}` -> `modules[checking-a-permit].minutes`.

    Entries of a list are named by their `id` when they have one, else by their position
    counted from 1 (`audiences[#2]`).
    """
    if isinstance(messages, dict):
        for key, value in messages.items():
            child = raw[key] if _has(raw, key) else None
            if isinstance(key, int):
                name = child.get("id") if isinstance(child, dict) else None
                path = f"{prefix}[{name}]" if isinstance(name, str) and name else f"{prefix}[#{key + 1}]"
            elif key == "_schema":
                path, child = prefix, raw
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            yield from _flatten(value, child, path)
    elif isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict | list):
                yield from _flatten(message, raw, prefix)
            else:
                yield prefix, str(message)
    else:
        yield prefix, str(messages)


def _has(raw: Any, key: Any) -> bool:
    if isinstance(raw, dict):
        return key in raw
    if isinstance(raw, list) and isinstance(key, int):
        return 0 <= key < len(raw)
    return False


def _read_text(path: Path, problems: _Problems) -> str | None:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.add(path, "encoding", "Not UTF-8: save the file as UTF-8.", line=line)
        return None
    return normalise_text(text)


def _parse_toml(path: Path, text: str, problems: _Problems) -> dict | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.14 gives lineno/colno; 3.11 puts "(at line L, column C)" in the message.
        line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        message = str(getattr(exc, "msg", None) or exc)
        found = _TOML_POSITION.search(message)
        if line is None and found:
            line, column = int(found[1]), int(found[2])
        if line is None and _TOML_END.search(message):
            line = text.count("\n") or 1
        message = _TOML_END.sub("", _TOML_POSITION.sub("", message)).strip()
        where = f" (column {column})" if column else ""
        problems.add(path, "syntax", f"Not valid TOML: {message}{where}.", line=line)
        return None


def _load(schema, path: Path, raw: dict, problems: _Problems) -> dict | None:
    try:
        return schema.load(raw)
    except ValidationError as exc:
        problems.add_messages(path, exc.messages, raw)
        return None


# --- competencies.toml -----------------------------------------------------------------


def _read_competencies(root: Path, problems: _Problems) -> list[Competency] | None:
    path = root / COMPETENCIES_FILE
    if not path.is_file():
        problems.add(path, "file", "Missing: the list of competency areas courses are filed under.")
        return None
    text = _read_text(path, problems)
    raw = _parse_toml(path, text, problems) if text is not None else None
    if raw is None:
        return None
    before = len(problems)
    for key in raw:
        if key != "competency":
            problems.add(path, key, "Unknown field: the file holds [[competency]] tables only.")
    entries = raw.get("competency")
    if not isinstance(entries, list) or not entries:
        problems.add(path, "competency", "Add at least one [[competency]] table with an id and its titles.")
        return None
    result: list[Competency] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, start=1):
        ident = entry.get("id") if isinstance(entry, dict) else None
        where = f"competency[{ident}]" if isinstance(ident, str) and ident else f"competency[#{n}]"
        if not isinstance(entry, dict):
            problems.add(path, where, "Must be a table.")
            continue
        if not isinstance(ident, str) or not COMPETENCY_ID.match(ident):
            problems.add(path, f"{where}.id", "Required: lower-case letters, digits and underscores (permits_and_certificates).")
        elif ident in seen:
            problems.add(path, f"{where}.id", f"The id {ident!r} is used twice.")
        seen.add(ident)
        titles = {k: v for k, v in entry.items() if k != "id"}
        for code, title in titles.items():
            if not LANGUAGE_PATTERN.match(code):
                problems.add(path, f"{where}.{code}", "Unknown field: the other keys are language codes (en, fr, es...).")
            elif not isinstance(title, str) or not title.strip():
                problems.add(path, f"{where}.{code}", "Must be a non-empty text.")
        if "en" not in titles:
            problems.add(path, f"{where}.en", "Missing: the English title is required.")
        result.append(Competency(str(ident), {k: str(v).strip() for k, v in titles.items()}))
    return result if len(problems) == before else None


def read_competencies(root: Path) -> list[Competency]:
    """The competency areas of `root/competencies.toml`; CatalogueInvalid if it is wrong."""
    problems = _Problems(Path(root))
    result = _read_competencies(Path(root), problems)
    problems.raise_if_any()
    return result or []


# --- one course folder -----------------------------------------------------------------


@dataclass
class _Declared:
    """What course.toml declares, read leniently so that the files can be checked even when
    course.toml itself has errors."""

    modules: list[str]
    quizzed: set[str]
    languages: list[str]


def _declared(raw: dict, data: dict | None) -> _Declared:
    if data is not None:
        return _Declared(
            [m["id"] for m in data["modules"]],
            {m["id"] for m in data["modules"] if m["quiz"] is not None},
            data["languages"],
        )
    entries = raw.get("modules") if isinstance(raw.get("modules"), list) else []
    modules = [m["id"] for m in entries if isinstance(m, dict) and isinstance(m.get("id"), str) and SLUG_PATTERN.match(m["id"])]
    quizzed = {m["id"] for m in entries if isinstance(m, dict) and m.get("id") in modules and isinstance(m.get("quiz"), dict)}
    languages = raw.get("languages") if isinstance(raw.get("languages"), list) else []
    return _Declared(modules, quizzed, [code for code in languages if isinstance(code, str) and LANGUAGE_PATTERN.match(code)])


def _split_module(path: Path, text: str, problems: _Problems) -> tuple[str, str] | None:
    """A module file: `# Title` on the first line, the lesson after it."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        problems.add(path, "title", "Empty file: the first line must be the module's title as `# Title`.", line=1)
        return None
    heading = _HEADING.match(lines[first])
    if heading is None or not heading[1].strip():
        problems.add(path, "title", "The first line must be the module's title as a level-one heading: `# Title`.",
                     line=first + 1)
        return None
    title = heading[1].strip()
    if len(title) > 200:
        problems.add(path, "title", "Longer than 200 characters.", line=first + 1)
        return None
    body = "\n".join(lines[first + 1:]).strip("\n")
    if not body.strip():
        problems.add(path, "content", "The lesson is missing: write it below the title.", line=first + 2)
        return None
    return title, body + "\n"


def _compare_quiz(path: Path, questions: list[dict], english: list[dict], problems: _Problems) -> None:
    """A translated quiz translates the text only: same ids, same order, same correct choices."""
    en_ids = [q["id"] for q in english]
    ids = [q["id"] for q in questions]
    if ids != en_ids:
        missing = [i for i in en_ids if i not in ids]
        unknown = [i for i in ids if i not in en_ids]
        detail = "; ".join(filter(None, [
            f"missing {', '.join(missing)}" if missing else "",
            f"not in English: {', '.join(unknown)}" if unknown else "",
            "in another order" if not missing and not unknown else "",
        ]))
        problems.add(path, "questions", f"The question ids must be those of the English quiz ({', '.join(en_ids)}): {detail}.")
        return
    for question, source in zip(questions, english, strict=True):
        where = f"questions[{question['id']}]"
        en_choices = [c["id"] for c in source["choices"]]
        choices = [c["id"] for c in question["choices"]]
        if choices != en_choices:
            unknown = [c for c in choices if c not in en_choices]
            missing = [c for c in en_choices if c not in choices]
            detail = "; ".join(filter(None, [
                f"unknown choice id {', '.join(unknown)}" if unknown else "",
                f"missing {', '.join(missing)}" if missing else "",
                "in another order" if not unknown and not missing else "",
            ]))
            problems.add(path, f"{where}.choices", f"The choice ids must be those of the English quiz ({', '.join(en_choices)}): {detail}.")
            continue
        for choice, en_choice in zip(question["choices"], source["choices"], strict=True):
            if choice["correct"] != en_choice["correct"]:
                expected = "true" if en_choice["correct"] else "false"
                problems.add(path, f"{where}.choices[{choice['id']}].correct",
                             f"Differs from English, where it is {expected}: a translation translates the text only.")


def _read_course(
    folder: Path,
    problems: _Problems,
    competency_ids: set[str] | None,
    prerequisites: dict[str, tuple[Path, list[str]]],
) -> CourseSpec | None:
    """Check one course folder; its spec if it has no problem. Fills `prerequisites` with
    what course.toml names, even when other fields are wrong, for the checks between courses."""
    before = len(problems)
    slug = folder.name
    if not SLUG_PATTERN.match(slug) or len(slug) > 100:
        problems.add(folder, "slug", "Not a valid slug: name the folder with lower-case letters, digits and single hyphens (cites-for-customs).")
    elif slug in RESERVED_SLUGS:
        problems.add(folder, "slug", f"{slug!r} is reserved for a page of the catalogue; choose another name.")
    toml_path = folder / COURSE_FILE
    if not toml_path.is_file():
        problems.add(toml_path, "file", "Missing: every course folder needs a course.toml.")
        return None
    files: dict[str, str] = {}
    text = _read_text(toml_path, problems)
    raw = _parse_toml(toml_path, text, problems) if text is not None else None
    if raw is None:
        return None
    files[COURSE_FILE] = text
    named = raw.get("prerequisites", [])
    if isinstance(named, list):
        prerequisites[slug] = (toml_path, [p for p in named if isinstance(p, str) and SLUG_PATTERN.match(p)])
    data = _load(CourseFileSchema(), toml_path, raw, problems)
    if data is not None and competency_ids is not None:
        for n, ident in enumerate(data["competencies"], start=1):
            if ident not in competency_ids:
                problems.add(toml_path, f"competencies[#{n}]",
                             f"Unknown competency area {ident!r}: use an id of competencies.toml ({', '.join(sorted(competency_ids))}).")
    declared = _declared(raw, data)

    language_dirs: dict[str, Path] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name == COURSE_FILE:
            continue
        if entry.is_dir() and LANGUAGE_PATTERN.match(entry.name):
            language_dirs[entry.name] = entry
        elif entry.is_dir():
            problems.add(entry, "folder", "Not a language folder: name it with a language code (en, fr, es, pt...).")
        else:
            problems.add(entry, "file", "Unexpected file: a course folder holds course.toml and one folder per language.")

    titles: dict[str, dict[str, str]] = {key: {} for key in declared.modules}
    contents: dict[str, dict[str, str]] = {key: {} for key in declared.modules}
    quizzes: dict[str, dict[str, list]] = {key: {} for key in declared.modules}
    quiz_paths: dict[tuple[str, str], Path] = {}
    for code, language_dir in language_dirs.items():
        for entry in sorted(language_dir.iterdir(), key=lambda p: p.name):
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                problems.add(entry, "folder", "Unexpected folder: a language folder holds module files only.")
                continue
            if entry.name.endswith(QUIZ_SUFFIX):
                key, kind = entry.name.removesuffix(QUIZ_SUFFIX), "quiz"
            elif entry.name.endswith(MODULE_SUFFIX):
                key, kind = entry.name.removesuffix(MODULE_SUFFIX), "module"
            else:
                problems.add(entry, "file", "Unexpected file: module files are <module-id>.md and <module-id>.quiz.toml.")
                continue
            if key not in titles:
                listed = ", ".join(declared.modules) or "none"
                problems.add(entry, "file", f"{key!r} is not a module of this course (the modules of course.toml: {listed}).")
                continue
            if kind == "quiz" and key not in declared.quizzed:
                problems.add(entry, "file", f"course.toml gives the module {key!r} no quiz: add [modules.quiz] with pass_mark and attempts, or remove this file.")
                continue
            text = _read_text(entry, problems)
            if text is None:
                continue
            files[f"{code}/{entry.name}"] = text
            if kind == "module":
                split = _split_module(entry, text, problems)
                if split is not None:
                    titles[key][code], contents[key][code] = split
            else:
                raw_quiz = _parse_toml(entry, text, problems)
                quiz = _load(QuizFileSchema(), entry, raw_quiz, problems) if raw_quiz is not None else None
                if quiz is not None:
                    quizzes[key][code] = quiz["questions"]
                    quiz_paths[(key, code)] = entry

    # English is required for everything; a language listed in `languages` has every file.
    if "en" not in language_dirs:
        problems.add(folder / "en", "folder", "Missing: the English content (en/) is required.")
    for code in dict.fromkeys(["en", *declared.languages]):
        why = ("English is required for every module" if code == "en"
               else f"{code} is listed in `languages` in course.toml, so every module needs its {code} file")
        for key in declared.modules:
            if not (folder / code / f"{key}{MODULE_SUFFIX}").is_file():
                problems.add(folder / code / f"{key}{MODULE_SUFFIX}", "file", f"Missing: {why}.")
            if key in declared.quizzed and not (folder / code / f"{key}{QUIZ_SUFFIX}").is_file():
                problems.add(folder / code / f"{key}{QUIZ_SUFFIX}", "file",
                             f"Missing: {why}'s quiz (course.toml gives {key!r} a quiz).")
        if data is not None and code != "en":
            for text_field in ("title", "summary"):
                if code not in data[text_field]:
                    problems.add(toml_path, f"{text_field}.{code}", f"Missing: {code} is listed in `languages`.")
    for (key, code), path in quiz_paths.items():
        if code != "en" and "en" in quizzes[key]:
            _compare_quiz(path, quizzes[key][code], quizzes[key]["en"], problems)

    if data is None or len(problems) > before:
        return None
    modules = [
        ModuleSpec(
            key=entry["id"], position=position, minutes=entry["minutes"],
            pass_mark=entry["quiz"]["pass_mark"] if entry["quiz"] else None,
            attempts=entry["quiz"]["attempts"] if entry["quiz"] else None,
            title=titles[entry["id"]], content=contents[entry["id"]],
            quiz=quizzes[entry["id"]] if entry["quiz"] else None,
        )
        for position, entry in enumerate(data["modules"])
    ]
    return CourseSpec(
        slug=slug,
        content_hash=content_hash(files),
        title=data["title"],
        summary=data["summary"],
        audiences=data["audiences"],
        competencies=data["competencies"],
        delivery=data["delivery"],
        hours=data["hours"],
        access=data["access"],
        languages=list(dict.fromkeys(["en", *data["languages"]])),
        prerequisites=data["prerequisites"],
        completion={
            "modules": data["completion"]["modules"],
            "min_score": data["completion"]["min_score"],
            "attendance": data["completion"]["attendance"],
        },
        modules=modules,
    )


def _check_prerequisites(folder_names: set[str], declared: dict[str, tuple[Path, list[str]]], problems: _Problems) -> None:
    """Prerequisites name course folders, and never lead back to the course itself."""
    for slug, (path, prerequisites) in declared.items():
        for n, required in enumerate(prerequisites, start=1):
            if required == slug:
                problems.add(path, f"prerequisites[#{n}]", "A course cannot be its own prerequisite.")
            elif required not in folder_names:
                problems.add(path, f"prerequisites[#{n}]", f"No course {required!r}: there is no folder {required}/ in the catalogue.")
    graph = {slug: [p for p in prerequisites if p in declared and p != slug] for slug, (_, prerequisites) in declared.items()}
    reported: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(slug: str, path: list[str]) -> None:
        state[slug] = 1
        path.append(slug)
        for required in graph[slug]:
            if state.get(required) == 1:
                cycle = path[path.index(required):]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    start = min(cycle)
                    turn = cycle[cycle.index(start):] + cycle[:cycle.index(start)]
                    problems.add(declared[start][0], "prerequisites",
                                 f"The prerequisites form a cycle: {' → '.join([*turn, start])}.")
            elif state.get(required) is None:
                visit(required, path)
        path.pop()
        state[slug] = 2

    for slug in sorted(graph):
        if slug not in state:
            visit(slug, [])


def read_catalogue(root: Path, *, progress: Callable[[], None] | None = None) -> Catalogue:
    """Read and check the whole folder; CatalogueInvalid lists every problem found."""
    root = Path(root)
    problems = _Problems(root)
    if not root.is_dir():
        problems.add(root, "folder", "Not a folder: give the catalogue folder (the one with competencies.toml).")
        problems.raise_if_any()
    competencies = _read_competencies(root, problems)
    competency_ids = {c.id for c in competencies} if competencies is not None else None
    folders = course_folders(root)
    if not folders:
        problems.add(root, "folder", "No course folders: syncing an empty catalogue would retire every course.")
    courses: list[CourseSpec] = []
    prerequisites: dict[str, tuple[Path, list[str]]] = {}
    for folder in folders:
        spec = _read_course(folder, problems, competency_ids, prerequisites)
        if spec is not None:
            courses.append(spec)
        if progress is not None:
            progress()
    _check_prerequisites({f.name for f in folders}, prerequisites, problems)
    problems.raise_if_any()
    return Catalogue(root, competencies or [], courses)

