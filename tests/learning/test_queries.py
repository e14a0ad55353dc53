"""The number of SQL statements of the lists does not grow with their rows (no N+1): each list
is measured with a few rows, then with more, and must send the same statements."""

import shutil

from tests.catalogue.fixtures import FIXTURE_COURSES, sync_fixture_courses
from tests.conftest import NOW
from tests.learning.conftest import enrol, finish_basics


def _learners(make_person, count: int, start: int = 0):
    from vcollege.core.models import Agency

    return [make_person(f"Learner {start + n:03d}", party=("KE", "CM", "PE")[n % 3], agency=Agency.CUSTOMS,
                        email=f"roster{start + n}@example.org")
            for n in range(count)]


def test_completions_api_queries_do_not_grow_with_rows(client, session, courses, make_person, make_token, statements):
    _token, headers = make_token("completions:read")

    def listing():
        response = client.get("/api/v1/completions?per_page=100", headers=headers)
        assert response.status_code == 200
        listing.total = response.get_json()["pagination"]["total"]

    for person in _learners(make_person, 2):
        finish_basics(session, person, courses["cites-basics"])
    listing()  # the token's first use is recorded once
    few = statements(listing)
    assert listing.total == 2
    for person in _learners(make_person, 4, start=2):
        finish_basics(session, person, courses["cites-basics"])
    many = statements(listing)
    assert listing.total == 6
    assert len(many) == len(few), "\n".join(many)


def test_enrolments_api_pages_in_sql_and_reads_prerequisites_once(client, session, courses, make_person, make_token,
                                                                  statements):
    _token, headers = make_token("enrolments:read")
    pages = {}

    def listing(per_page=100):
        response = client.get(f"/api/v1/enrolments?course=customs-checks&per_page={per_page}", headers=headers)
        assert response.status_code == 200
        pages[per_page] = response.get_json()

    people = _learners(make_person, 2)
    finish_basics(session, people[0], courses["cites-basics"])  # one has the prerequisite
    for person in people:
        enrol(session, person, courses["customs-checks"])
    session.commit()
    listing()  # the token's first use is recorded once
    few = statements(listing)
    assert [row["missing_prerequisites"] for row in pages[100]["items"]] == [[], ["cites-basics"]]
    for person in _learners(make_person, 5, start=2):
        enrol(session, person, courses["customs-checks"])
    session.commit()
    many = statements(listing)
    assert pages[100]["pagination"]["total"] == 7 and len(pages[100]["items"]) == 7
    assert len(many) == len(few), "\n".join(many)
    # a page is cut in SQL, not in Python
    page = statements(lambda: listing(per_page=3))
    assert pages[3]["pagination"] == {"page": 1, "per_page": 3, "total": 7, "pages": 3}
    assert [row["name"] for row in pages[3]["items"]] == ["Learner 000", "Learner 001", "Learner 002"]
    assert any("LIMIT" in statement.upper() for statement in page)


def test_teaching_page_queries_do_not_grow_with_courses(client, session, sign_in, make_staff, statements, tmp_path):
    from vcollege.core.models import Role

    sync_fixture_courses(session)
    sign_in(make_staff(Role.TRAINER))

    def page():
        response = client.get("/teach")
        assert response.status_code == 200
        page.html = response.get_data(as_text=True)

    page()
    few = statements(page)
    folder = tmp_path / "courses"
    shutil.copytree(FIXTURE_COURSES, folder)
    for n in range(3):
        shutil.copytree(folder / "cites-basics", folder / f"cites-basics-copy-{n}")
    sync_fixture_courses(session, path=folder, now=NOW)
    many = statements(page)
    assert page.html.count("cites-basics-copy-") == 3
    assert len(many) == len(few), "\n".join(many)


def test_roster_reading_queries_do_not_grow_with_lines(session, courses, make_person, statements):
    from vcollege.learning.service import read_roster

    people = _learners(make_person, 8)

    def roster(persons):
        text = "email,course\n" + "".join(f"{p.email},cites-basics\n" for p in persons)
        return lambda: read_roster(session, text)

    roster(people[:1])()  # the course and version enter the session once
    few = statements(roster(people[:2]))
    many = statements(roster(people))
    assert len(many) == len(few), "\n".join(many)
    assert [line.person for line in read_roster(session, "email\n" + "\n".join(p.email.upper() for p in people),
                                                default_course="cites-basics")] == people


def test_roster_problems_are_still_reported_per_line(session, courses, make_person):
    import pytest

    from vcollege.errors import InvalidInput
    from vcollege.learning.service import read_roster

    [known] = _learners(make_person, 1)
    text = (f"email,course,version\n{known.email},no-such-course,\nnobody@example.org,cites-basics,\n"
            f"{known.email},cites-basics,x\nnot-an-email,cites-basics,\n{known.email},cites-basics,9\n")
    with pytest.raises(InvalidInput) as caught:
        read_roster(session, text)
    problems = caught.value.errors["file"]
    assert [p.split(":")[0] for p in problems] == ["Line 2", "Line 3", "Line 4", "Line 5", "Line 6"]
    assert "nobody is known" in problems[1] and "not a number" in problems[2]
