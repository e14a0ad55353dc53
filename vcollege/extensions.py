"""Flask extensions and the database plumbing every area shares.

Invariants:
- the metadata carries a naming convention, so every constraint has a stable name that
  migrations can refer to on SQLite and PostgreSQL alike;
- datetimes are stored and returned as timezone-aware UTC (`UTCDateTime`), also on SQLite,
  whose driver knows nothing of time zones;
- what is counted (seats, money, attempts, a completion recorded once) is read under a lock
  with `lock_for_update`: `SELECT ... FOR UPDATE` on PostgreSQL; on SQLite, whose
  transactions are serialised (see `vcollege._tune_engine`), the write lock and a fresh read.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import DateTime, MetaData, TypeDecorator, false, select, update
from sqlalchemy import Enum as SAEnum
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
login_manager = LoginManager()


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every engine; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware UTC datetime")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            # SQLite compares strings: store one fixed format, without an offset.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """The current time as an aware UTC datetime (edges pass it to services as `now`)."""
    return dt.datetime.now(dt.UTC)


def utc_timestamp(moment: dt.datetime, *, timespec: str = "seconds") -> str:
    """`moment` as an ISO 8601 UTC timestamp ending in `Z` (`2026-11-28T12:00:00Z`), for the
    JSON other systems read (Open Badges; LTI scores, which ask for `timespec="milliseconds"`)."""
    return moment.astimezone(dt.UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def lock_for_update(session: Session, model, *ids):
    """The rows of `model` with these primary keys, read fresh under a write lock.

    PostgreSQL: `SELECT ... FOR UPDATE`. SQLite locks the whole database, not rows: a write
    that changes nothing makes sure the write lock is held (every transaction takes it when it
    begins; this guards a connection opened otherwise), then the rows are read again. A lock
    still held by another writer after the busy timeout becomes `TryAgain` (409), nothing
    written.
    """
    from vcollege.errors import TryAgain

    table = model.__table__
    key = next(iter(table.primary_key.columns))
    if session.get_bind().dialect.name == "sqlite":
        try:
            session.execute(update(table).where(false()).values({key.name: key}))
        except OperationalError as exc:
            if "locked" not in str(exc.orig):
                raise
            raise TryAgain("Someone changed these records at the same moment.") from None
    query = select(model).where(key.in_(ids)).with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(query))


def string_enum(enum: type[StrEnum], length: int = 40) -> SAEnum:
    """A `StrEnum` column stored as a plain string (no native ENUM type), so that adding a
    member needs no ALTER TYPE; values are checked by SQLAlchemy."""
    return SAEnum(
        enum,
        native_enum=False,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
        create_constraint=False,
    )
