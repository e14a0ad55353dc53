"""`vcollege catalogue sync|coverage|list`: the catalogue's commands over its services."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app

from vcollege.catalogue.coverage import Coverage, CoverageMatrix
from vcollege.catalogue.service import (
    coverage,
    coverage_of,
    list_courses,
    localized,
    read_catalogue,
    sync_catalogue,
)
from vcollege.cli import CommandGroup
from vcollege.core.permissions import Actor
from vcollege.extensions import db, utcnow

OPERATOR = Actor.operator("cli")

catalogue = CommandGroup("catalogue", help="The course catalogue: load it from courses/, check its translations.")

PATH_OPTION = click.option(
    "--path", type=click.Path(file_okay=False, path_type=Path),
    help="The catalogue folder (default: the COURSES_DIR setting).",
)


class ProgressBar:
    """Adapts `sync_catalogue`'s progress calls to a click progress bar, opened on the first."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stdout)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _root(path: Path | None) -> Path:
    return path or Path(current_app.config["COURSES_DIR"])


@catalogue.command("sync")
@PATH_OPTION
def sync(path):
    """Check every file of the catalogue, then load it: new courses, new versions, retirements.

    Nothing is written if any file is wrong; each error names its file, line and field.
    """
    root = _root(path)
    bar = ProgressBar("Checking and loading courses") if sys.stdout.isatty() else None
    try:
        result = sync_catalogue(db.session, root, actor=OPERATOR, now=utcnow(), progress=bar)
    finally:
        if bar is not None:
            bar.close()
    db.session.commit()
    for label, slugs in (("added", result.added), ("new version", result.new_versions), ("retired", result.retired)):
        for slug in slugs:
            click.echo(f"  {label}: {slug}{' (back from retirement)' if slug in result.restored else ''}")
    if result.changed:
        click.echo(f"Catalogue {root}: {result}.")
    else:
        click.echo(f"Catalogue {root}: nothing changed ({result}).")


STATE_WORDS = {Coverage.COMPLETE: "complete", Coverage.PARTIAL: "partial", Coverage.MISSING: "-"}


def print_matrix(matrix: CoverageMatrix) -> None:
    width = max([len("course"), *(len(row.slug) for row in matrix.rows)]) + 2
    click.echo(("course".ljust(width) + "".join(code.ljust(10) for code in matrix.languages)).rstrip())
    for row in matrix.rows:
        cells = "".join(STATE_WORDS[row.cells[code].state].ljust(10) for code in matrix.languages)
        click.echo(row.slug.ljust(width) + cells.rstrip())
    click.echo("complete".ljust(width) + "".join(
        str(matrix.count(Coverage.COMPLETE, code)).ljust(10) for code in matrix.languages).rstrip())
    click.echo("(complete: title, summary, every module and quiz; partial: some of them; -: missing)")


@catalogue.command("coverage")
@click.option("--path", type=click.Path(file_okay=False, path_type=Path),
              help="Read the files of this folder instead of the synced catalogue (check before a sync).")
def coverage_command(path):
    """The translation matrix: each course in each language, complete, partial or missing."""
    matrix = coverage_of(read_catalogue(path).courses) if path else coverage(db.session)
    if not matrix.rows:
        click.echo("No courses: run `vcollege catalogue sync` first.")
        return
    print_matrix(matrix)


@catalogue.command("list")
@click.option("--all", "include_retired", is_flag=True, help="Include retired courses.")
def list_command(include_retired):
    """The courses with their current version."""
    for version in list_courses(db.session, include_retired=include_retired):
        course = version.course
        click.echo(f"{course.slug:<40} v{version.number:<3} {course.status.value:<8} {version.delivery.value:<10} "
                   f"{','.join(version.languages):<12} {localized(version.title, 'en')[1]}")


COMMANDS = (catalogue,)
