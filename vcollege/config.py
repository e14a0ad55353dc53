"""Settings from `VCOLLEGE_*` environment variables, read inside the app factory.

`SETTINGS` is the one table of every variable, its default and its meaning: the factory
reads it, `vcollege config` prints it and the README documents it (a test keeps the README
in step). Nothing here runs at import time.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(f"expected a positive whole number, got {value!r}")
    return number


@dataclass(frozen=True)
class Setting:
    name: str  # without the VCOLLEGE_ prefix
    default: str | None  # None: derived at start-up, see `doc`
    doc: str
    parse: Callable[[str], Any] = str
    key: str | None = None  # Flask config key; defaults to name

    @property
    def env(self) -> str:
        return f"VCOLLEGE_{self.name}"


ENVIRONMENTS = ("development", "demo", "production")


def _environment(value: str) -> str:
    if value not in ENVIRONMENTS:
        raise ValueError(f"expected one of {', '.join(ENVIRONMENTS)}, got {value!r}")
    return value


SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", "development", "`development`, `demo` or `production`. Production refuses plain-HTTP cookies, demo data and the development LMS.", _environment),
    Setting("INSTANCE_PATH", None, "The folder of the generated secret key, the SQLite database and the demo sign-ins. Default: `instance/` beside the package."),
    Setting("DATABASE_URL", None, "SQLAlchemy URL. Default: an SQLite file `instance/vcollege.sqlite3`. Production: `postgresql+psycopg://user:pass@host/db`.", key="SQLALCHEMY_DATABASE_URI"),
    Setting("SECRET_KEY", None, "Signs sessions and CSRF tokens. Default: generated once into `instance/secret_key` (mode 0600) and reused; never hard-coded."),
    Setting("BASE_URL", "http://127.0.0.1:5000", "The public URL of the tool, used in LTI registrations, certificates and e-mails."),
    Setting("LANGUAGES", "en,fr,es", "Interface languages, first is the default.", _list),
    Setting("RECENTLY_ACCEDED_YEARS", "5", "A Party counts as recently acceded for this many years after the Convention entered into force for it (Res. Conf. 19.2).", _positive_int),
    Setting("COOKIE_SECURE", None, "Send cookies only over HTTPS, with `SameSite=None; Partitioned` so that they work inside an LMS iframe. Default: true when `BASE_URL` is https.", _bool),
    Setting("FRAME_ANCESTORS", "", "Extra origins (comma-separated) allowed to show the pages in a frame; registered LTI platforms are allowed already.", _list),
    Setting("RATELIMIT_STORAGE_URL", "memory://", "Flask-Limiter storage; use `redis://127.0.0.1:6379` when several workers serve the app.", key="RATELIMIT_STORAGE_URI"),
    Setting("LOGIN_RATE_LIMIT", "10 per minute", "Password login attempts allowed per address and per account."),
    Setting("LTI_LOGIN_RATE_LIMIT", "60 per minute", "LTI logins allowed per address (a classroom behind one address may need more)."),
    Setting("LTI_REGISTER_RATE_LIMIT", "10 per hour", "LTI dynamic registrations allowed per address."),
    Setting("SCHEDULER_LEASE_SECONDS", "30", "How long the scheduler's leader lock lasts without renewal; a standby scheduler takes over after it lapses.", _positive_int),
    Setting("HEARTBEAT_SECONDS", "60", "Interval of the scheduler's heartbeat job.", _positive_int),
    Setting("JOB_RUN_RETENTION_DAYS", "90", "Job run records older than this are pruned daily.", _positive_int),
    Setting("LTI_KEY_MAX_AGE_DAYS", "90", "The scheduler rotates the tool's LTI signing key when it is older than this.", _positive_int),
    Setting("COURSES_DIR", None, "The catalogue folder. Default: `courses/` beside the package."),
    Setting("MIGRATIONS_DIR", None, "The Alembic folder. Default: `migrations/` beside the package."),
    Setting("PROXIES", "0", "How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host (trusted by ProxyFix).", int),
    Setting("LOG_LEVEL", "INFO", "Python logging level."),
)


def load_settings(
    instance_path: str,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Read every setting from the environment, then `overrides`; derive the defaults left.

    A bad value raises ValueError naming the variable.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env, setting.default)
        if raw is None:
            continue
        try:
            values[setting.key or setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ValueError(f"{setting.env}: {exc}") from None
    values.update(overrides or {})
    instance = Path(instance_path)
    values.setdefault(
        "SQLALCHEMY_DATABASE_URI", f"sqlite:///{instance / 'vcollege.sqlite3'}"
    )
    values.setdefault("COURSES_DIR", str(PROJECT_ROOT / "courses"))
    values.setdefault("MIGRATIONS_DIR", str(PROJECT_ROOT / "migrations"))
    values.setdefault("COOKIE_SECURE", values["BASE_URL"].startswith("https://"))
    return values


def instance_secret_key(instance_path: str) -> str:
    """The secret key kept in `instance/secret_key`, generated on first use.

    Written to a temporary file and linked into place, so that two workers starting on a
    fresh instance folder agree on one key and never read a half-written file.
    """
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temporary, path)  # fails if another process won the race: use theirs
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


def derived_flask_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flask and extension settings that follow from the VCOLLEGE_* values."""
    secure = values["COOKIE_SECURE"]
    languages = values["LANGUAGES"]
    return {
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_NAME": "vcollege_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": secure,
        # Inside an LMS iframe only SameSite=None cookies are sent, and only over HTTPS.
        "SESSION_COOKIE_SAMESITE": "None" if secure else "Lax",
        "SESSION_COOKIE_PARTITIONED": secure,
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
        "BABEL_DEFAULT_LOCALE": languages[0],
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "WTF_CSRF_SSL_STRICT": False,  # launches arrive from LMS origins; the token suffices
        "RATELIMIT_HEADERS_ENABLED": True,
        "API_TITLE": "vcollege",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",  # the bundled Swagger UI (4.x) reads 2.0 and 3.0.x
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/static/",
    }
