"""Demo step: register the built-in development LMS as an active platform.

Only when ENV is development or demo: production never knows the development LMS.
"""

from __future__ import annotations

from vcollege.lti.devlms import DEV_CLIENT_ID, DEV_DEPLOYMENT_ID, dev_urls
from vcollege.lti.platforms import find_platform, register_platform


def ensure_dev_lms(ctx) -> None:
    if ctx.config["ENV"] not in ("development", "demo"):
        ctx.echo("Development LMS: not registered outside development and demo.")
        return
    urls = dev_urls(ctx.config["BASE_URL"])
    if find_platform(ctx.session, urls["issuer"], DEV_CLIENT_ID) is not None:
        return
    register_platform(ctx.session, issuer=urls["issuer"], client_id=DEV_CLIENT_ID, name="Development LMS",
                      auth_login_url=urls["auth"], auth_token_url=urls["token"], key_set_url=urls["jwks"],
                      deployment_ids=[DEV_DEPLOYMENT_ID], actor=ctx.actor, now=ctx.now, active=True, via="demo")
    ctx.echo(f"Development LMS registered at {urls['issuer']}.")
