"""The learning pages through the test client: the player, the learner's home, the trainers'
pages (enrol, roster, waive, withdraw)."""

import re

import pytest

from tests.conftest import NOW, count
from tests.learning.conftest import enrol, finish_basics
from vcollege.learning.models import Enrolment, EnrolmentStatus, QuizAttempt, Waiver

LTI = "lti:https://lms.example.org"


@pytest.fixture
def player(client, session, sign_in, courses, learner):
    enrol(session, learner, courses["cites-basics"])
    session.commit()
    sign_in(learner, via=LTI)
    return client


def test_pages_need_a_sign_in(client):
    assert client.get("/learn").status_code == 302
    assert client.get("/teach").status_code == 302


def test_course_page_progress_and_continue(player, session, learner, csrf):
    page = player.get("/learn/cites-basics").get_data(as_text=True)
    assert "CITES basics" in page and 'role="progressbar"' in page and 'aria-valuenow="0"' in page
    assert "Start the course" in page
    player.get("/learn/cites-basics/modules/authorities")
    page = player.get("/learn/cites-basics").get_data(as_text=True)
    assert "Continue where you left off" in page
    assert re.search(r'href="/learn/cites-basics/modules/authorities"[^>]*>\s*Continue', page)


def test_module_page_has_sanitised_text_and_a_quiz_without_answers(player, courses):
    html = player.get("/learn/cites-basics/modules/appendices").get_data(as_text=True)
    assert "<h1>The three Appendices</h1>" in html
    assert 'type="checkbox" name="q-q2"' in html and 'type="radio" name="q-q1"' in html
    assert "correct" not in html.lower().replace("tick every correct answer", "")
    assert "Article II, paragraph 1." not in html  # the explanation waits for the submission


def test_quiz_submission_shows_the_result_then_completion(player, session, csrf):
    token = csrf("/learn/cites-basics/modules/appendices")
    missing = player.post("/learn/cites-basics/modules/appendices/quiz", data={"csrf_token": token, "q-q1": "a"})
    assert missing.status_code == 422
    assert 'aria-invalid="true" aria-describedby="q2-error"' in missing.get_data(as_text=True)
    assert count(session, QuizAttempt) == 0
    done = player.post("/learn/cites-basics/modules/appendices/quiz",
                       data={"csrf_token": token, "q-q1": "a", "q-q2": ["a", "b"]})
    assert done.status_code == 302 and done.location.endswith("/learn/cites-basics/modules/appendices/attempts/1")
    result = player.get(done.location).get_data(as_text=True)
    # passed, but attempts are left: the answers stay hidden (a retake would otherwise be free marks)
    assert "Passed with 100" in result and "Article II, paragraph 1." not in result
    read = player.post("/learn/cites-basics/modules/authorities/read", data={"csrf_token": token})
    assert read.status_code == 302
    page = player.get("/learn/cites-basics").get_data(as_text=True)
    assert "Course completed" in page and "Download the certificate" in page
    # completed: now the attempt shows the explanations
    assert "Article II, paragraph 1." in player.get(done.location).get_data(as_text=True)


def test_a_failed_attempt_hides_the_correct_choices_while_an_attempt_remains(player, session, csrf):
    token = csrf("/learn/cites-basics/modules/appendices")
    wrong = {"csrf_token": token, "q-q1": "b", "q-q2": ["a"]}  # both wrong
    for number in (1, 2):
        done = player.post("/learn/cites-basics/modules/appendices/quiz", data=wrong)
        assert done.status_code == 302 and done.location.endswith(f"/attempts/{number}")
        page = player.get(done.location).get_data(as_text=True)
        assert "Not passed" in page and "wrong" in page
        assert "choice-correct" not in page and '<span class="badge">correct</span>' not in page
        assert "Article II, paragraph 1." not in page  # the explanation
        assert "shown once you have completed the course or have no attempt left" in page
    # the third and last attempt fails too: now every attempt shows the answers
    player.post("/learn/cites-basics/modules/appendices/quiz", data=wrong)
    first = player.get("/learn/cites-basics/modules/appendices/attempts/1").get_data(as_text=True)
    assert first.count("choice-correct") == 3 and "Article II, paragraph 1." in first  # q1: a; q2: a and b
    assert "shown once you have completed" not in first


def test_answers_are_revealed_once_the_course_is_completed(player, session, learner, courses, csrf):
    from vcollege.core.permissions import Actor
    from vcollege.learning.service import find_enrolment, waive_course

    token = csrf("/learn/cites-basics/modules/appendices")
    player.post("/learn/cites-basics/modules/appendices/quiz", data={"csrf_token": token, "q-q1": "b", "q-q2": "c"})
    assert "choice-correct" not in player.get("/learn/cites-basics/modules/appendices/attempts/1").get_data(as_text=True)
    waive_course(session, find_enrolment(session, learner, "cites-basics"), reason="Equivalent training",
                 actor=Actor.operator("tests"), now=NOW)
    session.commit()
    page = player.get("/learn/cites-basics/modules/appendices/attempts/1").get_data(as_text=True)
    assert "choice-correct" in page and "Article II, paragraph 1." in page


def test_language_fallback_notice_and_switcher(client, session, sign_in, courses, make_person):
    russian = make_person("Merdan Atayev", party="TM", preferred_language="ru")
    enrol(session, russian, courses["cites-basics"])
    session.commit()
    sign_in(russian, via=LTI)
    page = client.get("/learn/cites-basics").get_data(as_text=True)
    assert "This course is not available in Russian" in page
    assert 'hreflang="fr"' in page and 'hreflang="es"' in page
    module = client.get("/learn/cites-basics/modules/appendices").get_data(as_text=True)
    assert "This module is not available in Russian: it is shown in English." in module
    french = client.get("/learn/cites-basics/modules/appendices?lang=fr").get_data(as_text=True)
    assert '<article class="lesson" lang="fr">' in french and "not available" not in french
    # the choice is remembered
    assert '<article class="lesson" lang="fr">' in client.get("/learn/cites-basics/modules/authorities").get_data(as_text=True)


def test_prerequisites_show_on_the_course_and_block_the_modules(player, session, learner, courses):
    enrol(session, learner, courses["customs-checks"])
    session.commit()
    page = player.get("/learn/customs-checks").get_data(as_text=True)
    assert "prerequisites you have not completed" in page and "CITES basics" in page
    blocked = player.get("/learn/customs-checks/modules/reading-a-permit")
    assert blocked.status_code == 302 and blocked.location.endswith("/learn/customs-checks")


def test_home_lists_courses_completions_and_credentials(client, session, sign_in, courses, learner):
    completion = finish_basics(session, learner, courses["cites-basics"]).completion
    enrol(session, learner, courses["customs-checks"])
    session.commit()
    sign_in(learner, via=LTI)
    html = client.get("/learn").get_data(as_text=True)
    assert "Checking CITES documents at the border" in html and "CITES basics" in html
    assert f"/learn/certificates/{completion.credential.code}.pdf" in html
    assert f"/learn/badges/{completion.credential.code}.jwt" in html


def test_trainer_enrols_by_email_and_sees_progress(client, session, sign_in, csrf, make_staff, courses, learner):
    from vcollege.core.models import Role

    sign_in(make_staff(Role.TRAINER))
    assert "CITES basics" in client.get("/teach").get_data(as_text=True)
    token = csrf("/teach/cites-basics")
    wrong = client.post("/teach/cites-basics/enrol", data={"csrf_token": token, "email": "nobody@example.org"})
    assert wrong.status_code == 422 and "Nobody is known" in wrong.get_data(as_text=True)
    assert count(session, Enrolment) == 0
    done = client.post("/teach/cites-basics/enrol", data={"csrf_token": token, "email": learner.email})
    assert done.status_code == 302
    listing = client.get("/teach/cites-basics").get_data(as_text=True)
    assert "Wanjiru Kamau" in listing and "<caption>1 learner</caption>" in listing


def test_roster_is_checked_whole_with_line_numbers(client, session, sign_in, csrf, make_staff, make_person, courses, learner):
    import io

    from vcollege.core.models import Role

    other = make_person("Paul Mbarga", party="CM")
    sign_in(make_staff(Role.TRAINER))
    token = csrf("/teach/cites-basics")
    bad = "email,expires_on\n" + f"{learner.email},\nnobody@example.org,\n{other.email},2026-13-01\n"
    response = client.post("/teach/cites-basics/roster", data={
        "csrf_token": token, "roster": (io.BytesIO(bad.encode()), "roster.csv")}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Line 3: nobody is known with the e-mail nobody@example.org" in html
    assert "Line 4: expires_on" in html
    assert count(session, Enrolment) == 0
    good = "email\n" + f"{learner.email}\n{other.email}\n"
    response = client.post("/teach/cites-basics/roster", data={
        "csrf_token": token, "roster": (io.BytesIO(good.encode()), "roster.csv")}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert count(session, Enrolment) == 2


def test_trainer_waives_and_withdraws_with_reasons(client, session, sign_in, csrf, make_staff, courses, learner):
    from vcollege.core.models import Role

    enrolment = enrol(session, learner, courses["cites-basics"])
    session.commit()
    sign_in(make_staff(Role.TRAINER))
    path = f"/teach/enrolments/{enrolment.id}"
    token = csrf(path)
    refused = client.post(f"{path}/waive", data={"csrf_token": token, "module": "appendices", "reason": ""})
    assert refused.status_code == 422 and count(session, Waiver) == 0
    assert client.post(f"{path}/waive", data={"csrf_token": token, "module": "appendices",
                                               "reason": "Passed the regional exam"}).status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "Passed the regional exam" in page and "enrolment.module_waived" in page
    assert client.post(f"{path}/withdraw", data={"csrf_token": token, "reason": ""}).status_code == 422
    assert client.post(f"{path}/withdraw", data={"csrf_token": token, "reason": "Left the service"}).status_code == 302
    session.expire_all()
    assert session.get(Enrolment, enrolment.id).status == EnrolmentStatus.WITHDRAWN


def test_learner_cannot_reach_trainer_pages(player):
    assert player.get("/teach").status_code == 403


def test_trainer_cannot_waive_on_their_own_enrolment_page(client, session, sign_in, csrf, make_staff, courses):
    from vcollege.core.models import Role

    person = make_staff(Role.TRAINER)
    own = enrol(session, person, courses["cites-basics"])
    session.commit()
    sign_in(person)
    path = f"/teach/enrolments/{own.id}"
    page = client.get(path).get_data(as_text=True)
    assert "Waive a requirement" not in page and "Withdraw the learner" in page
    refused = client.post(f"{path}/waive", data={"csrf_token": csrf(path), "module": "", "reason": "Equivalent training"})
    assert refused.status_code == 403
    assert count(session, Waiver) == 0 and session.get(Enrolment, own.id).status == EnrolmentStatus.ACTIVE


def test_a_trainer_launched_from_an_lms_cannot_waive(client, session, sign_in, csrf, make_staff, courses, learner):
    from vcollege.core.models import Role

    enrolment = enrol(session, learner, courses["cites-basics"])
    session.commit()
    sign_in(make_staff(Role.TRAINER), via=LTI)
    path = f"/teach/enrolments/{enrolment.id}"
    token = csrf("/learn")
    response = client.post(f"{path}/waive", data={"csrf_token": token, "module": "", "reason": "Equivalent training"})
    assert response.status_code == 403 and count(session, Waiver) == 0


def test_a_pass_with_attempts_left_reveals_no_answers_to_retake_with(player, session, csrf):
    """Otherwise a learner who passes at the pass mark would read the answers and retake for
    full marks (the best score counts)."""
    token = csrf("/learn/cites-basics/modules/appendices")
    right = {"csrf_token": token, "q-q1": "a", "q-q2": ["a", "b"]}
    done = player.post("/learn/cites-basics/modules/appendices/quiz", data=right)
    page = player.get(done.location).get_data(as_text=True)
    assert "Passed with 100" in page
    assert "choice-correct" not in page and "Article II, paragraph 1." not in page
