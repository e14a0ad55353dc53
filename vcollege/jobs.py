"""The one schedule table, the job runner and the scheduler's leader lock.

`vcollege scheduler` runs APScheduler over `SCHEDULE`. Several scheduler processes may run
(one per host, say); they share a lease row in the database and only the holder of an
unexpired lease runs jobs. The holder renews it every third of its lifetime; if it dies,
the lease lapses and a standby takes over. Each run re-checks the lease first, so a holder
that stalled past its lease skips the run instead of racing the new leader.

Job functions are thin: `job(session, now, config)` calls services; the runner commits once
per run and records it in `job_runs`. A job that calls other systems (posting grades to an
LMS) commits after each item instead, so that what was sent is recorded at once and no
database lock is held across a network call; its docstring says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from vcollege.core.models import JobRun, SchedulerLease
from vcollege.extensions import db, utcnow

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"

JobFunc = Callable[[Session, dt.datetime, dict[str, Any]], str | None]


@dataclass(frozen=True)
class Job:
    id: str
    func: JobFunc
    trigger: str  # "interval" or "cron"
    trigger_args: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda config: {})
    description: str = ""


def heartbeat(session: Session, now: dt.datetime, config: dict[str, Any]) -> str:
    """Proves the leader is alive (the Secretariat's scheduler page shows the last beat)."""
    return "alive"


def prune_job_runs(session: Session, now: dt.datetime, config: dict[str, Any]) -> str:
    """Job run records older than the retention period go."""
    cutoff = now - dt.timedelta(days=config["JOB_RUN_RETENTION_DAYS"])
    result = session.execute(delete(JobRun).where(JobRun.started_at < cutoff))
    return f"{result.rowcount} pruned"


def expire_enrolments(session: Session, now: dt.datetime, config: dict[str, Any]) -> str:
    """Active enrolments past their end date become expired (their history stays)."""
    from vcollege.core.permissions import Actor
    from vcollege.learning.enrolments import expire_enrolments as expire

    return f"{expire(session, now=now, actor=Actor.system('expire-enrolments'))} expired"


SCHEDULE: list[Job] = [
    Job("heartbeat", heartbeat, "interval", lambda c: {"seconds": c["HEARTBEAT_SECONDS"]},
        "Record that the leader is alive."),
    Job("prune-job-runs", prune_job_runs, "cron", lambda c: {"hour": 3, "minute": 17},
        "Delete old job run records."),
    Job("expire-enrolments", expire_enrolments, "cron", lambda c: {"minute": 5},
        "Mark enrolments past their end date as expired."),
]


def _lti_jobs() -> list[Job]:
    from vcollege.lti.jobs import JOBS

    return JOBS


SCHEDULE.extend(_lti_jobs())


def add_job(job: Job) -> None:
    """Areas add their jobs to the table at import; ids are unique."""
    if any(existing.id == job.id for existing in SCHEDULE):
        raise RuntimeError(f"job {job.id} scheduled twice")
    SCHEDULE.append(job)


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaderLease:
    """The lease row, taken and renewed with single atomic UPDATEs (SQLite and PostgreSQL)."""

    def __init__(self, holder: str, seconds: int):
        self.holder = holder
        self.seconds = seconds

    def _ensure_row(self, session: Session) -> None:
        if session.get(SchedulerLease, LEASE_NAME) is None:
            session.add(SchedulerLease(name=LEASE_NAME))
            try:
                session.commit()
            except Exception:  # another process created it first
                session.rollback()

    def acquire(self, session: Session, now: dt.datetime) -> bool:
        """Take the lease if it is free, lapsed or already ours; True if we hold it."""
        self._ensure_row(session)
        result = session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE_NAME)
            .where(or_(SchedulerLease.holder.is_(None), SchedulerLease.expires_at < now,
                       SchedulerLease.holder == self.holder))
            .values(holder=self.holder, acquired_at=now, expires_at=now + dt.timedelta(seconds=self.seconds))
        )
        session.commit()
        return result.rowcount == 1

    def renew(self, session: Session, now: dt.datetime) -> bool:
        """Extend our unexpired lease; False if it lapsed or someone else holds it."""
        result = session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.holder,
                   SchedulerLease.expires_at >= now)
            .values(expires_at=now + dt.timedelta(seconds=self.seconds))
        )
        session.commit()
        return result.rowcount == 1

    def release(self, session: Session) -> None:
        session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.holder)
            .values(holder=None, expires_at=None)
        )
        session.commit()


@dataclass(frozen=True)
class RunResult:
    job_id: str
    status: str  # ok or error
    detail: str | None


def run_job(app: Flask, job: Job, lease: LeaderLease | None = None, now: dt.datetime | None = None) -> RunResult | None:
    """Run one job in its own transaction and record the run; skip it if we are not leader."""
    with app.app_context():
        session = db.session
        try:
            start = now or utcnow()
            if lease is not None and not lease.renew(session, start):
                log.warning("job %s skipped: %s no longer holds the scheduler lease", job.id, lease.holder)
                return None
            run = JobRun(job_id=job.id, holder=lease.holder if lease else "manual", started_at=start, status="running")
            session.add(run)
            session.commit()
            try:
                detail = job.func(session, start, app.config)
                session.flush()
            except Exception as exc:
                session.rollback()
                log.exception("job %s failed", job.id)
                run.status, run.detail = "error", f"{type(exc).__name__}: {exc}"[:2000]
            else:
                run.status, run.detail = "ok", detail
            run.finished_at = utcnow() if now is None else start
            result = RunResult(job.id, run.status, run.detail)
            session.commit()
            return result
        finally:
            db.session.remove()


def get_job(job_id: str) -> Job:
    for job in SCHEDULE:
        if job.id == job_id:
            return job
    from vcollege.errors import NotFound

    raise NotFound(f"No job {job_id!r}; known: {', '.join(j.id for j in SCHEDULE)}.")


class Scheduler:
    """Stand by until the lease is ours, then run the schedule; give it back on stop."""

    def __init__(self, app: Flask, holder: str | None = None):
        self.app = app
        self.lease = LeaderLease(holder or new_holder_id(), app.config["SCHEDULER_LEASE_SECONDS"])
        self.stop_event = threading.Event()
        self.background: BackgroundScheduler | None = None

    def _start_jobs(self) -> None:
        self.background = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
        for job in SCHEDULE:
            self.background.add_job(run_job, job.trigger, id=job.id, args=(self.app, job, self.lease),
                                    name=job.description or job.id, **job.trigger_args(self.app.config))
        self.background.start()

    def _stop_jobs(self) -> None:
        if self.background is not None:
            self.background.shutdown(wait=True)
            self.background = None

    def _tick(self) -> bool:
        with self.app.app_context():
            try:
                now = utcnow()
                if self.background is None:
                    return self.lease.acquire(db.session, now)
                return self.lease.renew(db.session, now)
            except Exception:
                log.exception("scheduler lease check failed")
                db.session.rollback()
                return False
            finally:
                db.session.remove()

    def run_forever(self) -> None:
        interval = max(0.5, self.lease.seconds / 3)
        log.info("scheduler %s standing by (lease %ss)", self.lease.holder, self.lease.seconds)
        try:
            while not self.stop_event.is_set():
                leader = self._tick()
                if leader and self.background is None:
                    log.info("scheduler %s is now the leader", self.lease.holder)
                    self._start_jobs()
                elif not leader and self.background is not None:
                    log.warning("scheduler %s lost the lease; standing by", self.lease.holder)
                    self._stop_jobs()
                self.stop_event.wait(interval)
        finally:
            self._stop_jobs()
            with self.app.app_context():
                try:
                    self.lease.release(db.session)
                finally:
                    db.session.remove()
            log.info("scheduler %s stopped", self.lease.holder)

    def stop(self, *_args) -> None:
        self.stop_event.set()
