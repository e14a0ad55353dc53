"""The catalogue's migration on the test engine: the courses <-> course_versions foreign key
cycle goes up, down and up again, and the models match the migrated schema."""

from __future__ import annotations

import flask_migrate
import pytest
from sqlalchemy import inspect

from tests import conftest

CATALOGUE_REVISION = "9e6c8ecbda61"


@pytest.mark.slow
def test_upgrade_downgrade_upgrade_and_no_drift(databases, tmp_path):
    from vcollege import create_app
    from vcollege.extensions import db

    app = create_app(conftest.test_config(databases.new_url("catalogue_migration"), tmp_path))
    with app.app_context():
        flask_migrate.upgrade()
        foreign_keys = inspect(db.engine).get_foreign_keys("courses")
        assert [(fk["name"], fk["referred_table"]) for fk in foreign_keys] == [
            ("fk_courses_current_version_id_course_versions", "course_versions")
        ]
        flask_migrate.check()  # raises if the models and the migrations differ
        flask_migrate.downgrade(revision=f"{CATALOGUE_REVISION}-1")  # just below the catalogue
        assert not {"courses", "course_versions", "course_modules"} & set(inspect(db.engine).get_table_names())
        flask_migrate.upgrade()
        assert {"courses", "course_versions", "course_modules"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()
