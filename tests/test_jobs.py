"""The schedule table, the job runner and the scheduler's leader lock."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import flask_migrate
import pytest
from sqlalchemy import create_engine, select, text

from tests.conftest import NOW, test_config
from vcollege.core.models import JobRun, SchedulerLease
from vcollege.jobs import SCHEDULE, Job, LeaderLease, get_job, prune_job_runs, run_job


def test_lease_is_exclusive_until_it_lapses(session):
    first, second = LeaderLease("host-a:1", 30), LeaderLease("host-b:2", 30)
    assert first.acquire(session, NOW)
    assert not second.acquire(session, NOW + dt.timedelta(seconds=10))
    assert first.renew(session, NOW + dt.timedelta(seconds=20))  # now valid until +50s
    assert not second.acquire(session, NOW + dt.timedelta(seconds=49))
    assert second.acquire(session, NOW + dt.timedelta(seconds=51))  # the first stopped renewing
    assert not first.renew(session, NOW + dt.timedelta(seconds=52))  # and cannot take it back
    assert session.get(SchedulerLease, "scheduler").holder == "host-b:2"
    second.release(session)
    assert first.acquire(session, NOW + dt.timedelta(seconds=53))


def test_run_job_records_success_and_failure(app, db):
    def ok(session, now, config):
        return "done"

    def broken(session, now, config):
        raise ValueError("the LMS said no")

    run = run_job(app, Job("probe-ok", ok, "interval"), now=NOW)
    assert (run.status, run.detail) == ("ok", "done")
    run = run_job(app, Job("probe-broken", broken, "interval"), now=NOW)
    assert run.status == "error" and "the LMS said no" in run.detail


def test_a_job_is_skipped_when_the_lease_is_lost(app, db, session):
    calls = []
    lease = LeaderLease("host-a:1", 30)
    assert lease.acquire(session, NOW)
    other = LeaderLease("host-b:2", 30)
    assert other.acquire(session, NOW + dt.timedelta(seconds=31))
    run = run_job(app, Job("probe", lambda s, n, c: calls.append(n), "interval"), lease=lease, now=NOW + dt.timedelta(seconds=32))
    assert run is None and calls == []


def test_prune_job_runs(session, app):
    session.add_all([
        JobRun(job_id="old", holder="x", started_at=NOW - dt.timedelta(days=100), status="ok"),
        JobRun(job_id="new", holder="x", started_at=NOW - dt.timedelta(days=1), status="ok"),
    ])
    session.flush()
    assert prune_job_runs(session, NOW, {"JOB_RUN_RETENTION_DAYS": 90}) == "1 pruned"
    assert session.scalars(select(JobRun.job_id)).all() == ["new"]


def test_schedule_table_is_well_formed(app):
    ids = [job.id for job in SCHEDULE]
    assert len(ids) == len(set(ids))
    for job in SCHEDULE:
        assert job.trigger in {"interval", "cron"}
        assert isinstance(job.trigger_args(app.config), dict)
    with pytest.raises(Exception, match="No job"):
        get_job("no-such-job")


def _start_scheduler(url: str, holder: str, instance) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCOLLEGE_")}
    env.update({
        "VCOLLEGE_DATABASE_URL": url, "VCOLLEGE_SECRET_KEY": "test", "VCOLLEGE_LOG_LEVEL": "INFO",
        "VCOLLEGE_INSTANCE_PATH": str(instance),
        "VCOLLEGE_SCHEDULER_LEASE_SECONDS": "3", "VCOLLEGE_HEARTBEAT_SECONDS": "1",
    })
    with open(instance / f"{holder}.log", "w") as log:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "vcollege.cli", "scheduler", "--holder", holder],
                                env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_two_scheduler_processes_never_run_jobs_together(databases, tmp_path):
    from vcollege import create_app

    url = databases.new_url("scheduler")
    app = create_app(test_config(url, tmp_path))
    with app.app_context():
        flask_migrate.upgrade()
    engine = create_engine(url)

    def runs():
        with engine.connect() as conn:
            return conn.execute(text("SELECT holder, started_at, finished_at FROM job_runs WHERE job_id = 'heartbeat' ORDER BY id")).all()

    def lease_holder():
        with engine.connect() as conn:
            return conn.execute(text("SELECT holder FROM scheduler_leases WHERE name = 'scheduler'")).scalar()

    first = _start_scheduler(url, "alpha", tmp_path)
    second = None
    try:
        _wait_for(lambda: [r for r in runs() if r.holder == "alpha"], 20, "alpha's first heartbeat")
        second = _start_scheduler(url, "beta", tmp_path)
        time.sleep(4)  # longer than the lease: beta stands by because alpha keeps renewing
        assert {r.holder for r in runs()} == {"alpha"}
        assert lease_holder() == "alpha"
        first.send_signal(signal.SIGKILL)  # dies without releasing the lease
        first.wait(timeout=10)
        killed_at = time.monotonic()
        _wait_for(lambda: [r for r in runs() if r.holder == "beta"], 20, "beta taking over")
        took_over_after = time.monotonic() - killed_at
        assert lease_holder() == "beta"
        history = runs()
        alpha_runs = [r for r in history if r.holder == "alpha"]
        beta_runs = [r for r in history if r.holder == "beta"]
        last_alpha_start = max(r.started_at for r in alpha_runs)
        first_beta_start = min(r.started_at for r in beta_runs)
        assert first_beta_start > last_alpha_start
        assert took_over_after < 15
        second.send_signal(signal.SIGTERM)  # a clean stop gives the lease back
        assert second.wait(timeout=20) == 0
        assert lease_holder() is None
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
        engine.dispose()


def test_run_job_command_reports_the_run(runner):
    result = runner.invoke(args=["run-job", "heartbeat"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "heartbeat: ok alive"
    result = runner.invoke(args=["run-job", "no-such-job"])
    assert result.exit_code == 1 and "No job 'no-such-job'" in result.output
