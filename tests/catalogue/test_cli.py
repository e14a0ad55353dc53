"""`vcollege catalogue ...` through the CLI runner, the progress bar on a real terminal, and
the demo step that `make run` uses."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys

import pytest

from tests.catalogue.fixtures import FIXTURE_COURSES
from tests.conftest import NOW, count
from vcollege.catalogue.models import Course, CourseVersion
from vcollege.core.models import AuditEntry


def test_sync_then_again_says_nothing_changed(runner, session):
    result = runner.invoke(args=["catalogue", "sync", "--path", str(FIXTURE_COURSES)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == ["  added: cites-basics", "  added: customs-checks", "  added: ndf-workshop"]
    assert lines[-1].endswith(": 3 added, 0 new versions, 0 retired, 0 unchanged.")
    assert "Checking and loading" not in result.output  # no progress bar when not on a terminal
    assert count(session, Course) == 3

    again = runner.invoke(args=["catalogue", "sync", "--path", str(FIXTURE_COURSES)])
    assert again.exit_code == 0
    assert again.output.splitlines() == [
        f"Catalogue {FIXTURE_COURSES}: nothing changed (0 added, 0 new versions, 0 retired, 3 unchanged)."
    ]


def test_sync_reads_the_courses_dir_setting_by_default(runner, app, monkeypatch, courses):
    monkeypatch.setitem(app.config, "COURSES_DIR", str(courses.root))
    result = runner.invoke(args=["catalogue", "sync"])
    assert result.exit_code == 0 and "3 added" in result.output
    courses.remove("customs-checks")
    courses.edit("cites-basics/es/authorities.md", "Cada Parte", "Cada una de las Partes")
    result = runner.invoke(args=["catalogue", "sync"])
    assert "  new version: cites-basics" in result.output and "  retired: customs-checks" in result.output
    assert "0 added, 1 new versions, 1 retired, 1 unchanged." in result.output


def test_a_refused_sync_names_every_file_line_and_field_and_writes_nothing(runner, session, courses):
    line = courses.line_of("cites-basics/course.toml", "hours =")
    courses.edit("cites-basics/course.toml", "hours = 2.5", "hours = = 2.5")
    courses.edit("customs-checks/en/reading-a-permit.quiz.toml", "correct = true", "correct = false")
    from vcollege.cli import main  # the `vcollege` command, which reports errors

    result = runner.invoke(main, args=["catalogue", "sync", "--path", str(courses.root)])
    assert result.exit_code == 1
    assert "Error: 2 error(s) in the catalogue" in result.output
    assert f"  cites-basics/course.toml:{line}: syntax: Not valid TOML: Invalid value (column 9)." in result.output
    assert ("  customs-checks/en/reading-a-permit.quiz.toml: questions[validity].choices: "
            "No choice is marked `correct = true`: at least one must be.") in result.output
    assert (count(session, Course), count(session, CourseVersion)) == (0, 0)
    assert count(session, AuditEntry, AuditEntry.action.startswith("catalogue.")) == 0


def test_coverage_and_list(runner):
    empty = runner.invoke(args=["catalogue", "coverage"])
    assert "No courses" in empty.output
    from_files = runner.invoke(args=["catalogue", "coverage", "--path", str(FIXTURE_COURSES)])
    runner.invoke(args=["catalogue", "sync", "--path", str(FIXTURE_COURSES)])
    synced = runner.invoke(args=["catalogue", "coverage"])
    assert synced.output == from_files.output
    lines = synced.output.splitlines()
    assert lines[0].split() == ["course", "en", "fr", "es", "pt"]
    assert lines[1].split() == ["cites-basics", "complete", "complete", "complete", "-"]
    assert lines[2].split() == ["customs-checks", "complete", "partial", "-", "-"]
    assert lines[3].split() == ["ndf-workshop", "complete", "-", "complete", "partial"]
    assert lines[4].split() == ["complete", "3", "1", "2", "0"]
    listed = runner.invoke(args=["catalogue", "list"]).output.splitlines()
    assert [line.split()[0] for line in listed] == ["cites-basics", "customs-checks", "ndf-workshop"]
    assert listed[2].split()[1:4] == ["v1", "active", "in_person"]


def test_the_demo_step_syncs_the_catalogue_or_says_why_not(session, tmp_path):
    from vcollege.catalogue.demo import sync_courses
    from vcollege.demo import DEMO_ACTOR, DEMO_STEPS, DemoContext

    assert sync_courses in DEMO_STEPS
    said: list[str] = []
    config = {"COURSES_DIR": str(tmp_path)}
    ctx = DemoContext(session, NOW, DEMO_ACTOR, said.append, {}, config)
    (tmp_path / "competencies.toml").write_text((FIXTURE_COURSES / "competencies.toml").read_text())
    sync_courses(ctx)
    assert said == [f"Catalogue: no courses in {tmp_path}; skipped."]
    config["COURSES_DIR"] = str(FIXTURE_COURSES)
    sync_courses(ctx)
    sync_courses(ctx)
    assert said[1:] == ["Catalogue: 3 added, 0 new versions, 0 retired, 0 unchanged.",
                        "Catalogue: 0 added, 0 new versions, 0 retired, 3 unchanged."]


@pytest.mark.slow
def test_a_terminal_sees_a_progress_bar(tmp_path):
    """Runs the real command on a pseudo-terminal, against a fresh SQLite database."""
    env = {**os.environ, "VCOLLEGE_DATABASE_URL": f"sqlite:///{tmp_path / 'tty.sqlite3'}",
           "VCOLLEGE_SECRET_KEY": "tty-test", "VCOLLEGE_LOG_LEVEL": "WARNING", "COLUMNS": "100"}
    command = [sys.executable, "-m", "vcollege.cli"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
    controller, terminal = pty.openpty()
    process = subprocess.Popen([*command, "catalogue", "sync", "--path", str(FIXTURE_COURSES)], env=env,
                               stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    output = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=60) == 0
    os.close(controller)
    text = output.decode()
    assert "Checking and loading courses" in text and "100%" in text
    assert "3 added, 0 new versions, 0 retired, 0 unchanged." in text
