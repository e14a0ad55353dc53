"""The LTI area's scheduled jobs (listed in `vcollege.jobs.SCHEDULE`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from vcollege.lti.ags import drain_ags_outbox_job
from vcollege.lti.keys import rotate_keys_job


def prune_lti_launches_job(session: Session, now: dt.datetime, config: dict) -> str:
    """Forget unfinished logins and launch data past their expiry."""
    from vcollege.lti.launches import prune_launches

    return f"{prune_launches(session, now=now)} launch record(s) deleted"


def _jobs():
    from vcollege.jobs import Job

    return [
        Job("lti-drain-ags-outbox", drain_ags_outbox_job, "interval", lambda c: {"seconds": 60},
            "Post the scores waiting for the LMS (retries with backoff)."),
        Job("lti-rotate-keys", rotate_keys_job, "cron", lambda c: {"hour": 2, "minute": 41},
            "Rotate the LTI signing key when it is old; delete retired keys."),
        Job("lti-prune-launches", prune_lti_launches_job, "interval", lambda c: {"minutes": 30},
            "Delete expired LTI login and launch records."),
    ]


JOBS = _jobs()
