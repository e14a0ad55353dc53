"""Fixtures of the catalogue tests: a writable copy of the fixture catalogue."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.catalogue.fixtures import FIXTURE_COURSES


class CourseFolder:
    """A copy of the fixture catalogue that a test may break."""

    def __init__(self, root: Path):
        self.root = root

    def __truediv__(self, rel: str) -> Path:
        return self.root / rel

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text("utf-8")

    def edit(self, rel: str, old: str, new: str) -> None:
        text = self.read(rel)
        assert old in text, f"{old!r} not in {rel}"
        (self.root / rel).write_text(text.replace(old, new, 1), "utf-8")

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")

    def remove(self, rel: str) -> None:
        path = self.root / rel
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()

    def line_of(self, rel: str, needle: str) -> int:
        for number, line in enumerate(self.read(rel).splitlines(), start=1):
            if needle in line:
                return number
        raise AssertionError(f"{needle!r} not in {rel}")


@pytest.fixture
def courses(tmp_path) -> CourseFolder:
    root = tmp_path / "courses"
    shutil.copytree(FIXTURE_COURSES, root, ignore=shutil.ignore_patterns("__pycache__"))
    return CourseFolder(root)
