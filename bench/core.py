"""Core: what the Parties API and the priority categories cost."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bench.harness import Comparison, bench_app, compare


def run() -> list[Comparison]:
    from vcollege.core.accounts import create_api_token
    from vcollege.core.models import Party
    from vcollege.core.parties import list_standings
    from vcollege.core.permissions import Actor
    from vcollege.extensions import db

    app = bench_app()
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        _, raw = create_api_token(db.session, name="bench", scopes=["parties:read"], actor=Actor.operator("bench"), now=now)
        db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    client = app.test_client()

    def get(path, **kwargs):
        def call():
            response = client.get(path, **kwargs)
            assert response.status_code == 200, response.status_code
        return call

    results = [compare(
        "HTTP: the Parties API against the cheapest request (test client, SQLite)",
        ("GET /healthz (one SELECT)", get("/healthz")),
        ("GET /api/v1/parties/KE (token + one Party)", get("/api/v1/parties/KE", headers=headers)),
        ("GET /api/v1/parties?per_page=100", get("/api/v1/parties?per_page=100", headers=headers)),
        ("GET /api/v1/parties?category=any&per_page=100", get("/api/v1/parties?category=any&per_page=100", headers=headers)),
        number=30,
    )]
    with app.app_context():
        today = now.date()
        results.append(compare(
            "Service: priority categories of all 185 Parties against reading them",
            ("select(Party) for 185 rows", lambda: db.session.scalars(select(Party)).all()),
            ("list_standings(on=today) with categories and compliance",
             lambda: list_standings(db.session, on=today, window_years=5)),
            number=30,
        ))
    return results
