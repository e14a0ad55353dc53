"""The factory and its settings."""

import os
import stat
from pathlib import Path

import pytest

from vcollege import create_app
from vcollege.config import SETTINGS, instance_secret_key, load_settings


def test_defaults(tmp_path):
    values = load_settings(str(tmp_path), environ={})
    assert values["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'vcollege.sqlite3'}"
    assert values["LANGUAGES"] == ["en", "fr", "es"]
    assert values["RECENTLY_ACCEDED_YEARS"] == 5
    assert values["COOKIE_SECURE"] is False
    assert "SECRET_KEY" not in values


def test_environment_is_read_and_bad_values_named(tmp_path):
    values = load_settings(str(tmp_path), environ={
        "VCOLLEGE_RECENTLY_ACCEDED_YEARS": "3", "VCOLLEGE_BASE_URL": "https://college.example.org",
        "VCOLLEGE_LANGUAGES": "fr, en",
    })
    assert values["RECENTLY_ACCEDED_YEARS"] == 3
    assert values["COOKIE_SECURE"] is True
    assert values["LANGUAGES"] == ["fr", "en"]
    with pytest.raises(ValueError, match="VCOLLEGE_RECENTLY_ACCEDED_YEARS"):
        load_settings(str(tmp_path), environ={"VCOLLEGE_RECENTLY_ACCEDED_YEARS": "-1"})
    with pytest.raises(ValueError, match="VCOLLEGE_COOKIE_SECURE"):
        load_settings(str(tmp_path), environ={"VCOLLEGE_COOKIE_SECURE": "perhaps"})


def test_secret_key_is_generated_once_and_private(tmp_path):
    first = instance_secret_key(str(tmp_path))
    assert len(first) == 64
    assert instance_secret_key(str(tmp_path)) == first
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_overrides_win_and_secure_cookies_follow(app):
    secure = create_app({"COOKIE_SECURE": True, "SECRET_KEY": "x",
                         "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    assert secure.config["SESSION_COOKIE_SAMESITE"] == "None"
    assert secure.config["SESSION_COOKIE_PARTITIONED"] is True


def test_production_refuses_plain_http(app):
    with pytest.raises(ValueError, match="https"):
        create_app({"ENV": "production", "BASE_URL": "http://college.example.org", "SECRET_KEY": "x",
                    "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})


def test_readme_documents_every_setting():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    missing = [s.env for s in SETTINGS if s.env not in readme]
    assert not missing, f"README.md lacks {missing}"
    assert readme.lstrip().startswith("# vcollege")
    head = readme[:1500]
    assert "make run" in head and "make test" in head


def test_tests_never_touch_the_checkouts_instance_folder(app):
    from vcollege.config import PROJECT_ROOT

    assert app.instance_path != str(PROJECT_ROOT / "instance")


def test_the_instance_folder_can_be_chosen(tmp_path, app):
    chosen = create_app({"INSTANCE_PATH": str(tmp_path / "elsewhere"),
                         "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    assert chosen.instance_path == str(tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "secret_key").exists()  # generated there, nowhere else


def test_an_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ValueError, match="VCOLLEGE_ENV"):
        load_settings(str(tmp_path), environ={"VCOLLEGE_ENV": "Production"})


def test_two_workers_starting_together_share_one_secret_key(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: instance_secret_key(str(tmp_path)), range(16)))
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]
