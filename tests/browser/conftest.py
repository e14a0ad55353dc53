"""Browser tests: Playwright for Python driving Debian's Chromium against a live server.

The live app runs in a thread on its own migrated database (commits are real, so the server
thread sees them). Pages are reached as http://localhost:<port>; a page framing the tool
from http://127.0.0.1:<port> is cross-site, as an LMS is.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from tests.conftest import migrate_and_seed, test_config

CHROMIUM = os.environ.get("VCOLLEGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @contextmanager
    def session(self) -> Iterator:
        """A database session of the live app; commits on success."""
        from vcollege.extensions import db

        with self.app.app_context():
            try:
                yield db.session
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()


@pytest.fixture(scope="session")
def live_server(databases, tmp_path_factory, fake_lms):
    from vcollege import create_app

    instance = tmp_path_factory.mktemp("live-instance")
    app = create_app(test_config(databases.new_url("live"), instance, LOGIN_RATE_LIMIT="100 per minute"))
    migrate_and_seed(app)
    server = LiveServer(app)
    # Settings are read per request, so they can follow the port the server was given.
    app.config["BASE_URL"] = server.url
    app.config["FRAME_ANCESTORS"] = [fake_lms.origin]
    server.thread.start()
    yield server
    server.server.shutdown()


class FakeLms:
    """A second web server on 127.0.0.1 serving pages that frame the tool, as an LMS does.

    The tool is reached as `localhost`, the LMS as `127.0.0.1`: different sites, so the
    browser applies its third-party cookie and framing rules.
    """

    def __init__(self):
        self.pages: dict[str, str] = {}
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wsgi(self, environ, start_response):
        body = self.pages.get(environ.get("PATH_INFO", ""))
        if body is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode()]

    def frame_page(self, name: str, tool_url: str) -> str:
        self.pages[f"/{name}"] = (
            f'<!doctype html><html lang="en"><title>LMS</title><h1>LMS course page</h1>'
            f'<iframe id="tool" title="vcollege" src="{tool_url}" width="900" height="700" '
            f'allow="clipboard-write"></iframe></html>'
        )
        return f"{self.origin}/{name}"


@pytest.fixture(scope="session")
def fake_lms():
    lms = FakeLms()
    yield lms
    lms.server.shutdown()


def frame_tool(page, live_server, fake_lms, path: str) -> None:
    """Open an LMS page on another site that shows `path` of the tool in an iframe."""
    page.goto(fake_lms.frame_page(f"frame{abs(hash(path))}", live_server.url + path))


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}: .ci/run installs it with apt-get")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2, locale="en-GB")
    tab = context.new_page()
    yield tab
    context.close()
