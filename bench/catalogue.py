"""Catalogue: what syncing the shipped courses costs, and what its pages and API cost."""

from __future__ import annotations

import datetime as dt

from bench.harness import Comparison, bench_app, compare


def run() -> list[Comparison]:
    from vcollege.catalogue.service import sync_catalogue
    from vcollege.config import PROJECT_ROOT
    from vcollege.core.accounts import create_api_token
    from vcollege.core.permissions import Actor
    from vcollege.extensions import db

    courses = PROJECT_ROOT / "courses"
    operator = Actor.operator("bench")
    now = dt.datetime.now(dt.UTC)
    empty = bench_app()  # every round loads into an empty catalogue, then rolls back
    app = bench_app()  # holds the catalogue: a sync finds nothing changed
    with app.app_context():
        sync_catalogue(db.session, courses, actor=operator, now=now)
        _, raw = create_api_token(db.session, name="bench", scopes=["courses:read"], actor=operator, now=now)
        db.session.commit()

    def unchanged():
        with app.app_context():
            sync_catalogue(db.session, courses, actor=operator, now=now)
            db.session.rollback()

    def first_load():
        with empty.app_context():
            sync_catalogue(db.session, courses, actor=operator, now=now)
            db.session.rollback()

    results = [compare(
        "Sync: the shipped catalogue (7 courses, every file checked): a first load against a sync that finds nothing changed",
        ("sync, nothing changed (read, check and hash every file)", unchanged),
        ("sync into an empty catalogue (the same, and write 7 versions)", first_load),
        number=3,
    )]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}

    def get(path, **kwargs):
        def call():
            response = client.get(path, **kwargs)
            assert response.status_code == 200, (path, response.status_code)
        return call

    results.append(compare(
        "HTTP: catalogue pages and API against the cheapest request (test client, SQLite)",
        ("GET /healthz (one SELECT)", get("/healthz")),
        ("GET /catalogue (7 course cards)", get("/catalogue")),
        ("GET /catalogue/introduction-to-cites", get("/catalogue/introduction-to-cites")),
        ("GET /api/v1/courses", get("/api/v1/courses", headers=headers)),
        ("GET /api/v1/courses/cites-for-customs", get("/api/v1/courses/cites-for-customs", headers=headers)),
        number=20,
    ))
    return results
