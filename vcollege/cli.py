"""The `vcollege` command: every operation a person would script.

Each area contributes a click group built on its services; this module wires them, turns a
`VCollegeError` into a message naming the field and a non-zero exit, and adds the commands
that run processes (`serve`, `scheduler`, `run`).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from vcollege.errors import VCollegeError
from vcollege.extensions import db


def _create_app() -> Flask:
    from vcollege import create_app

    return create_app()


def report_error(error: VCollegeError) -> None:
    click.secho(f"Error: {error.detail or error.title}", fg="red", err=True)
    for field, messages in error.errors.items():
        if isinstance(messages, dict):
            for sub, sub_messages in messages.items():
                click.echo(f"  {field}: {sub}: {_join(sub_messages)}", err=True)
        else:
            click.echo(f"  {field}: {_join(messages)}", err=True)


def _join(messages) -> str:
    return " ".join(messages) if isinstance(messages, list) else str(messages)


def _invoke_reporting_errors(invoke, ctx):
    try:
        return invoke(ctx)
    except VCollegeError as error:
        with contextlib.suppress(Exception):  # no app context: nothing to roll back
            db.session.rollback()
        report_error(error)
        ctx.exit(1)


class CommandGroup(AppGroup):
    """An area's command group: a VCollegeError becomes a message naming the field, exit 1."""

    def invoke(self, ctx):
        return _invoke_reporting_errors(super().invoke, ctx)


class VCollegeGroup(FlaskGroup):
    def invoke(self, ctx):
        return _invoke_reporting_errors(super().invoke, ctx)


@click.group(cls=VCollegeGroup, create_app=_create_app, add_version_option=False,
             help="vcollege: the capacity-building backend of the CITES Virtual College.")
def main() -> None:
    pass


@click.command("scheduler")
@click.option("--holder", help="A name for this process in the leader lock (default: host:pid:random).")
@with_appcontext
def scheduler_command(holder):
    """Run the scheduler: stand by until leader, then run every job in jobs.SCHEDULE."""
    from vcollege.jobs import Scheduler

    scheduler = Scheduler(current_app._get_current_object(), holder=holder)
    signal.signal(signal.SIGTERM, scheduler.stop)
    signal.signal(signal.SIGINT, scheduler.stop)
    click.echo(f"Scheduler {scheduler.lease.holder}: waiting for the leader lock.")
    scheduler.run_forever()


@click.command("run-job")
@click.argument("job_id")
@with_appcontext
def run_job_command(job_id):
    """Run one job now, outside the schedule (for operators and debugging)."""
    from vcollege.jobs import get_job, run_job

    run = run_job(current_app._get_current_object(), get_job(job_id))
    click.echo(f"{job_id}: {run.status} {run.detail or ''}")
    if run.status != "ok":
        sys.exit(1)


@click.command("jobs")
@with_appcontext
def list_jobs_command():
    """The schedule table."""
    from vcollege.jobs import SCHEDULE

    for job in SCHEDULE:
        click.echo(f"{job.id:<28} {job.trigger:<9} {job.trigger_args(current_app.config)}  {job.description}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True,
              help="Also start `vcollege scheduler` as a child process (one-machine set-up).")
@with_appcontext
def serve_command(host, port, with_scheduler):
    """Serve the app (threaded Werkzeug server) and, by default, the scheduler beside it."""
    from werkzeug.serving import run_simple

    app = current_app._get_current_object()
    child = None
    if with_scheduler:
        child = subprocess.Popen([sys.executable, "-m", "vcollege.cli", "scheduler"])
    click.echo(f"vcollege on http://{host}:{port}/ (Ctrl-C to stop)")
    # SIGTERM ends the server like Ctrl-C does, so that the scheduler child is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


@click.command("config")
def config_command():
    """Every VCOLLEGE_* setting, its default and its meaning."""
    from vcollege.config import SETTINGS

    for setting in SETTINGS:
        click.echo(f"{setting.env}={setting.default or ''}\n    {setting.doc}")


@click.command("wait-for-db")
@click.option("--timeout", default=30, show_default=True)
@with_appcontext
def wait_for_db_command(timeout):
    """Wait until the database answers (deployment scripts)."""
    from sqlalchemy import text

    deadline = time.monotonic() + timeout
    while True:
        try:
            db.session.execute(text("SELECT 1"))
            click.echo("database ready")
            return
        except Exception as exc:
            db.session.rollback()
            if time.monotonic() > deadline:
                raise click.ClickException(f"database not reachable: {exc}") from None
            time.sleep(1)


def register_commands(app: Flask) -> None:
    from vcollege.catalogue.cli import COMMANDS as catalogue_commands
    from vcollege.core.cli import COMMANDS as core_commands
    from vcollege.demo import demo
    from vcollege.learning.cli import COMMANDS as learning_commands
    from vcollege.lti.cli import COMMANDS as lti_commands

    for group in (*core_commands, *catalogue_commands, *learning_commands, *lti_commands, demo, scheduler_command, run_job_command, list_jobs_command,
                  serve_command, config_command, wait_for_db_command):
        app.cli.add_command(group)


if __name__ == "__main__":
    main()
