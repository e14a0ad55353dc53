"""Throw-away databases for tests: an SQLite file, or a fresh PostgreSQL database on the
server named by VCOLLEGE_TEST_DATABASE_URL when VCOLLEGE_TEST_ENGINE=postgresql."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine, make_url, text


def engine_name() -> str:
    return os.environ.get("VCOLLEGE_TEST_ENGINE", "sqlite")


def server_url() -> str:
    url = os.environ.get("VCOLLEGE_TEST_DATABASE_URL")
    if not url:
        raise RuntimeError("VCOLLEGE_TEST_ENGINE=postgresql needs VCOLLEGE_TEST_DATABASE_URL")
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class Databases:
    """Creates databases on demand and drops them all at the end."""

    def __init__(self, tmp_dir: Path):
        self.tmp_dir = tmp_dir
        self.created: list[str] = []

    def new_url(self, label: str) -> str:
        name = f"vct_{label}_{uuid.uuid4().hex[:8]}"
        if engine_name() != "postgresql":
            return f"sqlite:///{self.tmp_dir / (name + '.sqlite3')}"
        base = make_url(server_url())
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = create_engine(make_url(server_url()), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
