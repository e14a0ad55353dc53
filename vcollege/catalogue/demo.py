"""The catalogue's demo step: `vcollege demo load` (and so `make run`) syncs `COURSES_DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vcollege.catalogue.service import course_folders, sync_catalogue

if TYPE_CHECKING:
    from vcollege.demo import DemoContext


def sync_courses(ctx: DemoContext) -> None:
    """Load the catalogue folder; skipped, with a note, when it holds no course yet."""
    root = Path(ctx.config["COURSES_DIR"])
    if not course_folders(root):
        ctx.echo(f"Catalogue: no courses in {root}; skipped.")
        return
    result = sync_catalogue(ctx.session, root, actor=ctx.actor, now=ctx.now)
    ctx.echo(f"Catalogue: {result}.")
