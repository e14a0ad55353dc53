"""Timing helpers: the minimum of several repeats, reported as a ratio to a baseline measured
in the same run, so that the numbers mean something on any machine."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def best_of(fn: Callable[[], object], *, number: int, repeat: int = 5) -> float:
    """Seconds per call: the fastest of `repeat` rounds of `number` calls."""
    fn()  # warm up caches and lazy imports
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - start) / number)
    return min(rounds)


@dataclass
class Comparison:
    title: str
    baseline: str
    baseline_seconds: float
    subjects: list[tuple[str, float]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"## {self.title}", f"  {self.baseline:<58} {self.baseline_seconds * 1e3:9.3f} ms   1.00x"]
        for name, seconds in self.subjects:
            out.append(f"  {name:<58} {seconds * 1e3:9.3f} ms  {seconds / self.baseline_seconds:5.2f}x")
        return out


def compare(title: str, baseline: tuple[str, Callable], *subjects: tuple[str, Callable], number: int = 50) -> Comparison:
    comparison = Comparison(title, baseline[0], best_of(baseline[1], number=number))
    for name, fn in subjects:
        comparison.subjects.append((name, best_of(fn, number=number)))
    return comparison


def bench_app(**config):
    """A migrated app on a throw-away SQLite file, with the Parties loaded."""
    import datetime as dt

    import flask_migrate

    from vcollege import create_app
    from vcollege.core.parties import load_parties_file
    from vcollege.core.permissions import Actor
    from vcollege.extensions import db

    directory = Path(tempfile.mkdtemp(prefix="vcollege-bench-"))
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'bench.sqlite3'}", "INSTANCE_PATH": str(directory),
        "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING", "RATELIMIT_ENABLED": False, **config,
    })
    with app.app_context():
        flask_migrate.upgrade()
        load_parties_file(db.session, None, actor=Actor.operator("bench"), now=dt.datetime.now(dt.UTC))
        db.session.commit()
    return app
