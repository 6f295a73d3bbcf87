"""Section 11 challenge: the agency keeps evidencing its ratings, the return's timeline tells the challenge
with names and dates, and every decision is a locked, logged step."""

import datetime as dt
import html

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audits.models import Rating, Section11Challenge, Section11Cycle, Section11Return, StandardRating
from audits.services.section11 import (
    challenge_close,
    challenge_respond,
    challenge_review,
    challenge_settle,
    cycle_update,
    rating_add_evidence,
    return_assign_reviewer,
)
from tests.audits.helpers import rate_all, the_return
from workflows.transitions import transition_perform

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture
def challenged(cycle: Section11Cycle, manager: User, owner: User, health_lead: User) -> Section11Return:
    """The police return, rated Green with evidence, submitted and under challenge by the ICB's lead."""
    police_return = the_return(cycle, owner)
    rate_all(police_return, owner)
    transition_perform(obj=police_return, name="submit", actor=owner)
    transition_perform(obj=cycle, name="start_challenge", actor=manager)
    return_assign_reviewer(agency_return=the_return(cycle, owner), actor=manager, reviewer=health_lead)
    transition_perform(obj=the_return(cycle, owner), name="begin_challenge", actor=manager)
    return the_return(cycle, owner)


def standard(agency_return: Section11Return, number: int) -> StandardRating:
    return StandardRating.objects.select_related("agency_return").get(
        agency_return=agency_return, standard__number=number
    )


def test_an_agency_under_challenge_adds_a_file_and_a_link_to_a_challenged_rating(
    challenged: Section11Return, owner: User, health_lead: User, health_owner: User
) -> None:
    training = standard(challenged, 4)
    challenge_review(
        rating=training, actor=health_lead, agree=False, proposed_rating=Rating.AMBER, reasoning="60% trained"
    )
    # The service, the page (a file) and the API (a link) all take the agency's new evidence.
    rating_add_evidence(
        rating=standard(challenged, 4), actor=owner, description="Training log", url="https://example.org/t"
    )
    page = Client()
    page.force_login(owner)
    response = page.post(
        f"/section11/ratings/{training.pk}/evidence/",
        {
            f"e{training.pk}-description": "Training report, October",
            f"e{training.pk}-file": SimpleUploadedFile("report.pdf", PDF, "application/pdf"),
        },
        follow=True,
    )
    assert "Evidence added" in response.content.decode()
    api = APIClient()
    api.force_authenticate(owner)
    added = api.post(
        f"/api/section11-ratings/{training.pk}/evidence/",
        {"description": "Attendance figures", "url": "https://example.org/a"},
        format="json",
    )
    assert added.status_code == 200
    assert sorted(training.evidence.values_list("description", flat=True)) == [
        "Attendance figures",
        "Board minutes",
        "Training log",
        "Training report, October",
    ]
    # The return page offers the evidence form to the agency while it is under challenge.
    assert (
        f'action="/section11/ratings/{training.pk}/evidence/"'
        in page.get(f"/section11/returns/{challenged.pk}/").content.decode()
    )
    # Another agency (the reviewer's) may not add evidence to the police return, and the self-assessed
    # rating itself stays as submitted.
    with pytest.raises(Exception, match="only someone from the return's agency"):
        rating_add_evidence(
            rating=standard(challenged, 4), actor=health_lead, description="x", url="https://example.org/x"
        )
    assert standard(challenged, 4).self_rating == Rating.GREEN


def test_the_return_shows_a_dated_timeline_of_the_challenge_with_names(
    challenged: Section11Return, owner: User, health_lead: User
) -> None:
    training = standard(challenged, 4)
    challenge_review(
        rating=training, actor=health_lead, agree=False, proposed_rating=Rating.AMBER, reasoning="60% trained"
    )
    challenge_respond(rating=standard(challenged, 4), actor=owner, accept=False, response="85% since October")
    rating_add_evidence(
        rating=standard(challenged, 4), actor=owner, description="Training log", url="https://example.org/t"
    )
    challenge_settle(rating=standard(challenged, 4), actor=health_lead, agreed_rating=Rating.GREEN)
    challenge_review(rating=standard(challenged, 1), actor=health_lead, agree=True)

    reviewer_name, owner_name = health_lead.get_full_name(), owner.get_full_name()
    assert reviewer_name and owner_name
    page = Client()
    page.force_login(owner)
    content = html.unescape(page.get(f"/section11/returns/{challenged.pk}/").content.decode())
    timeline = content[content.index("Timeline") :]
    for text in (
        "Standard 4: reviewer proposed Amber (self-assessed Green)",
        "60% trained",
        "Standard 4: the agency responded",
        "85% since October",
        "Standard 4: evidence added: Training log",
        "Standard 4: reviewer settled on Green",
        "Standard 1: reviewer agreed Green",
        f"Reviewer: {reviewer_name}",
        "Start the challenge of this return",
    ):
        assert text in timeline, text
    assert f"by {reviewer_name}" in timeline and f"by {owner_name}" in timeline
    assert f"{timezone.localdate():%-d %B %Y}" in timeline

    api = APIClient()
    api.force_authenticate(owner)
    entries = api.get(f"/api/section11-returns/{challenged.pk}/timeline/").json()
    proposal = next(e for e in entries if e["summary"].startswith("Standard 4: reviewer proposed"))
    assert proposal["who"] == reviewer_name and proposal["detail"] == "60% trained" and proposal["at"]
    response = next(e for e in entries if e["summary"] == "Standard 4: the agency responded")
    assert response["who"] == owner_name
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    # Names, never ids.
    assert not any(f": {health_lead.pk} " in e["detail"] or e["who"].isdigit() for e in entries if e["who"])


def test_two_people_closing_a_challenge_one_wins_the_other_is_refused_and_both_leave_a_trace(
    challenged: Section11Return, manager: User, second_manager: User
) -> None:
    first_copy = Section11Challenge.objects.get(agency_return=challenged)
    second_copy = Section11Challenge.objects.get(agency_return=challenged)
    challenge_close(challenge=first_copy, actor=manager, reason="Every rating agreed")
    with pytest.raises(ValidationError, match="already closed") as refusal:
        challenge_close(challenge=second_copy, actor=second_manager, reason="Done")
    assert manager.get_full_name() in str(refusal.value)
    closed = Section11Challenge.objects.get(agency_return=challenged)
    assert closed.finished_at is not None and closed.finished_by == manager
    traces = list(closed.history.order_by("history_date", "history_id"))
    assert (traces[-2].history_user, traces[-2].history_change_reason) == (
        manager,
        "Challenge closed: Every rating agreed",
    )
    assert traces[-1].history_user == second_manager
    assert traces[-1].history_change_reason.startswith("Refused: the challenge was already closed")
    # The winner's finish time stays as it was.
    assert traces[-1].finished_at == closed.finished_at


def test_agreeing_the_return_closes_its_challenge_with_who_and_why(
    challenged: Section11Return, health_lead: User
) -> None:
    for rating in challenged.ratings.all():
        challenge_review(rating=rating, actor=health_lead, agree=True)
    transition_perform(obj=Section11Return.objects.get(pk=challenged.pk), name="agree", actor=health_lead)
    challenge = Section11Challenge.objects.get(agency_return=challenged)
    assert challenge.finished_by == health_lead and challenge.finished_at is not None
    last = challenge.history.latest("history_date")
    assert last.history_user == health_lead and last.history_change_reason.startswith("Challenge closed")


def test_moving_the_returns_date_records_who_moved_each_return_and_why(
    cycle: Section11Cycle, manager: User, owner: User, health_owner: User
) -> None:
    assert cycle.returns_due_on is not None
    new_date = cycle.returns_due_on + dt.timedelta(days=14)
    cycle_update(cycle=cycle, actor=manager, returns_due_on=new_date, reason="Half-term")
    for person in (owner, health_owner):
        agency_return = the_return(cycle, person)
        assert agency_return.due_on == new_date
        last = agency_return.history.latest("history_date")
        assert last.history_user == manager and last.due_on == new_date
        assert "Half-term" in last.history_change_reason


def test_moving_the_challenge_date_moves_open_challenges_with_history(
    challenged: Section11Return, manager: User
) -> None:
    cycle = challenged.cycle
    assert cycle.challenge_due_on is not None
    new_date = cycle.challenge_due_on + dt.timedelta(days=7)
    cycle_update(cycle=cycle, actor=manager, challenge_due_on=new_date, reason="Reviewers on leave")
    challenge = Section11Challenge.objects.get(agency_return=challenged)
    assert challenge.due_on == new_date
    last = challenge.history.latest("history_date")
    assert last.history_user == manager and "Reviewers on leave" in last.history_change_reason


def test_a_reviewer_on_a_stale_page_cannot_overturn_a_rating_the_agency_already_accepted(
    challenged: Section11Return, owner: User, health_lead: User
) -> None:
    stale = standard(challenged, 4)
    challenge_review(
        rating=standard(challenged, 4),
        actor=health_lead,
        agree=False,
        proposed_rating=Rating.AMBER,
        reasoning="60% trained",
    )
    challenge_respond(rating=standard(challenged, 4), actor=owner, accept=True)
    with pytest.raises(ValidationError, match="already"):
        challenge_review(rating=stale, actor=health_lead, agree=True)
    assert standard(challenged, 4).agreed_rating == Rating.AMBER


def test_an_agency_answering_twice_from_two_pages_is_refused_the_second_time(
    challenged: Section11Return, owner: User, police_lead: User, health_lead: User
) -> None:
    challenge_review(
        rating=standard(challenged, 4),
        actor=health_lead,
        agree=False,
        proposed_rating=Rating.AMBER,
        reasoning="60% trained",
    )
    first, second = standard(challenged, 4), standard(challenged, 4)
    challenge_respond(rating=first, actor=owner, accept=True)
    with pytest.raises(ValidationError, match="no proposed rating waiting"):
        challenge_respond(rating=second, actor=police_lead, accept=False, response="We disagree")
    assert standard(challenged, 4).agency_response == ""


def test_my_work_lists_the_challenge_i_review_and_links_to_it(
    challenged: Section11Return, health_lead: User
) -> None:
    challenge = Section11Challenge.objects.get(agency_return=challenged)
    client = Client()
    client.force_login(health_lead)
    page = client.get("/my-work/").content.decode()
    assert "Section 11 challenge" in page and f"/section11/challenges/{challenge.pk}/" in page
