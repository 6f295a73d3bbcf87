"""Section 11: a cycle from planned to closed, every refusal, the matrix on known data, scoping, history."""

import datetime as dt
import io

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from audits.models import (
    Framework,
    Rating,
    Section11Challenge,
    Section11Cycle,
    Section11Return,
    StandardRating,
)
from audits.section11_reports import cycle_matrix, matrix_table, section11_returns_visible_to
from audits.services.section11 import (
    challenge_respond,
    challenge_review,
    challenge_settle,
    cycle_create,
    rating_add_action,
    rating_add_evidence,
    rating_save,
    return_assign_reviewer,
)
from tests.audits.helpers import rate_all, the_return
from tests.workflows.helpers import advance
from workflows.models import Action, Agency
from workflows.transitions import TransitionRefused, transition_perform

pytestmark = pytest.mark.django_db


def test_a_return_cannot_be_submitted_while_a_green_or_amber_standard_lacks_evidence(
    cycle: Section11Cycle, owner: User
) -> None:
    agency_return = the_return(cycle, owner)
    for standard_rating in agency_return.ratings.all():
        rating_save(rating=standard_rating, actor=owner, self_rating=Rating.AMBER)
    agency_return.refresh_from_db()
    assert agency_return.state == "in_progress"
    with pytest.raises(TransitionRefused, match="needs its evidence"):
        transition_perform(obj=agency_return, name="submit", actor=owner)
    with pytest.raises(ValidationError, match="Say why this standard does not apply"):
        rating_save(rating=agency_return.ratings.first(), actor=owner, self_rating=Rating.NOT_APPLICABLE)  # type: ignore[arg-type]


def test_a_reviewer_from_the_same_agency_is_refused(
    cycle: Section11Cycle, manager: User, owner: User, police_lead: User
) -> None:
    with pytest.raises(ValidationError, match="another agency"):
        return_assign_reviewer(agency_return=the_return(cycle, owner), actor=manager, reviewer=police_lead)
    assert the_return(cycle, owner).reviewer is None


def test_walk_a_cycle_from_planned_to_closed(
    cycle: Section11Cycle,
    manager: User,
    owner: User,
    health_owner: User,
    health_lead: User,
    police_lead: User,
) -> None:
    police_return, health_return = the_return(cycle, owner), the_return(cycle, health_owner)
    rate_all(police_return, owner)
    rate_all(health_return, health_owner)
    for agency_return, person in ((police_return, owner), (health_return, health_owner)):
        transition_perform(obj=agency_return, name="submit", actor=person)
    transition_perform(obj=cycle, name="start_challenge", actor=manager)
    return_assign_reviewer(agency_return=police_return, actor=manager, reviewer=health_lead)
    return_assign_reviewer(agency_return=health_return, actor=manager, reviewer=police_lead)
    for agency_return in (police_return, health_return):
        agency_return.refresh_from_db()
        transition_perform(obj=agency_return, name="begin_challenge", actor=manager)
    assert Section11Challenge.objects.filter(finished_at__isnull=True).count() == 2

    # The ICB's reviewer agrees every police rating but standard 4, which they propose Amber.
    ratings = list(police_return.ratings.select_related("standard"))
    for rating in ratings:
        if rating.standard.number == 4:
            challenge_review(
                rating=rating,
                actor=health_lead,
                agree=False,
                proposed_rating=Rating.AMBER,
                reasoning="Training at 60%",
            )
        else:
            challenge_review(rating=rating, actor=health_lead, agree=True)
    training = StandardRating.objects.get(agency_return=police_return, standard__number=4)
    with pytest.raises(PermissionDenied):
        challenge_respond(rating=training, actor=health_owner, accept=True)
    challenge_respond(rating=training, actor=owner, accept=False, response="The figure is 85% since October")
    challenge_settle(rating=training, actor=health_lead, agreed_rating=Rating.AMBER)
    police_return.refresh_from_db()
    with pytest.raises(TransitionRefused, match="needs at least one action"):
        transition_perform(obj=police_return, name="agree", actor=health_lead)
    action = rating_add_action(
        rating=StandardRating.objects.get(pk=training.pk),
        actor=police_lead,
        description="Raise training to 90%",
        owner=owner,
        due_on=timezone.localdate() + dt.timedelta(days=90),
    )
    assert action.agency == police_return.agency
    transition_perform(obj=police_return, name="agree", actor=health_lead)
    for rating in health_return.ratings.all():
        challenge_review(rating=rating, actor=police_lead, agree=True)
    health_return.refresh_from_db()
    transition_perform(obj=health_return, name="agree", actor=police_lead)
    assert not Section11Challenge.objects.filter(finished_at__isnull=True).exists()

    transition_perform(obj=cycle, name="start_action_planning", actor=manager)
    transition_perform(obj=cycle, name="start_monitoring", actor=manager)
    with pytest.raises(TransitionRefused, match="actions are open"):
        transition_perform(obj=cycle, name="close", actor=manager)
    advance(Action.objects.get(pk=action.pk), "completed", manager=manager)
    transition_perform(obj=cycle, name="close", actor=manager)
    assert cycle.state == "closed"

    # Both ratings kept for ever, and history on every rating change.
    training.refresh_from_db()
    assert (training.self_rating, training.proposed_rating, training.agreed_rating) == (
        "green",
        "amber",
        "amber",
    )
    changes = list(
        training.history.order_by("history_date", "history_id").values_list(
            "self_rating", "proposed_rating", "agreed_rating"
        )
    )
    steps = [c for i, c in enumerate(changes) if i == 0 or c != changes[i - 1]]
    assert steps == [("", "", ""), ("green", "", ""), ("green", "amber", ""), ("green", "amber", "amber")]
    assert {h.history_user for h in training.history.all()} >= {owner, health_lead}


def test_challenge_needs_the_cycle_in_challenge_and_a_reviewer(
    cycle: Section11Cycle, manager: User, owner: User
) -> None:
    agency_return = the_return(cycle, owner)
    rate_all(agency_return, owner)
    transition_perform(obj=agency_return, name="submit", actor=owner)
    with pytest.raises(TransitionRefused, match="when the cycle reaches challenge"):
        transition_perform(obj=agency_return, name="begin_challenge", actor=manager)
    transition_perform(obj=cycle, name="start_challenge", actor=manager)
    agency_return.refresh_from_db()
    with pytest.raises(TransitionRefused, match="Assign a reviewer"):
        transition_perform(obj=agency_return, name="begin_challenge", actor=manager)
    with pytest.raises(TransitionRefused, match="agreed in challenge"):
        transition_perform(obj=cycle, name="start_action_planning", actor=manager)


def test_the_matrix_on_known_data(
    framework: Framework, manager: User, owner: User, health_owner: User, police: Agency, health: Agency
) -> None:
    previous = cycle_create(actor=manager, name="Section 11 2024", lead=manager)
    current = cycle_create(actor=manager, name="Section 11 2026", lead=manager, previous=previous)
    standards = {s.number: s for s in framework.standards.all()}

    def rated(cycle: Section11Cycle, agency: Agency, values: dict[int, tuple[str, str]]) -> None:
        agency_return = Section11Return.objects.create(
            cycle=cycle, agency=agency, due_on=timezone.localdate(), title="x"
        )
        for number, (own, agreed) in values.items():
            StandardRating.objects.create(
                agency_return=agency_return, standard=standards[number], self_rating=own, agreed_rating=agreed
            )

    rated(previous, police, {1: ("green", "amber"), 2: ("green", "green")})
    rated(current, police, {1: ("green", "green"), 2: ("green", "red"), 3: ("amber", "amber")})
    rated(current, health, {1: ("amber", "green"), 2: ("not_applicable", "not_applicable"), 3: ("red", "")})
    matrix = cycle_matrix(current, Section11Return.objects.filter(cycle=current))
    assert (matrix.moved_down, matrix.moved_up, matrix.unchanged) == (1, 1, 3)
    assert matrix.since_previous == {"better": 1, "worse": 1}
    table = matrix_table(matrix)
    assert table[0][:4] == [
        "Agency",
        "1. Senior management commitment to safeguarding: self-assessed",
        "1: agreed",
        "1: previous cycle",
    ]
    police_row = next(row for row in table if row[0] == "Greater Manchester Police")
    assert police_row[1:7] == ["Green", "Green", "Amber", "Green", "Red", "Green"]
    health_row = next(row for row in table if row[0] == "NHS Greater Manchester ICB")
    assert health_row[7:9] == ["Red", ""]
    client = Client()
    client.force_login(manager)
    book = load_workbook(io.BytesIO(client.get(f"/section11/{current.pk}/matrix.xlsx").content))
    sheet = book.active
    assert sheet is not None
    assert [list(r) for r in sheet.iter_rows(values_only=True)][1:] == [
        [c if c != "" else None for c in row] for row in table[1:]
    ]
    csv_text = client.get(f"/section11/{current.pk}/matrix.csv").content.decode("utf-8-sig")
    assert "Greater Manchester Police,Green,Green,Amber,Green,Red,Green" in csv_text


def test_an_agency_sees_only_its_own_return_until_challenge_then_its_reviewer_sees_it(
    cycle: Section11Cycle, manager: User, owner: User, health_owner: User, health_lead: User
) -> None:
    police_return, health_return = the_return(cycle, owner), the_return(cycle, health_owner)
    client = Client()
    client.force_login(health_owner)
    assert client.get(f"/section11/returns/{health_return.pk}/").status_code == 200
    assert client.get(f"/section11/returns/{police_return.pk}/").status_code == 404
    rating = police_return.ratings.first()
    assert rating is not None
    assert (
        client.post(f"/section11/ratings/{rating.pk}/", {f"r{rating.pk}-self_rating": "red"}).status_code
        == 404
    )
    return_assign_reviewer(agency_return=police_return, actor=manager, reviewer=health_lead)
    assert (
        not section11_returns_visible_to(health_lead).filter(pk=police_return.pk).exists()
    )  # not until challenge
    transition_perform(obj=cycle, name="start_challenge", actor=manager)
    assert section11_returns_visible_to(health_lead).filter(pk=police_return.pk).exists()
    assert not section11_returns_visible_to(health_owner).filter(pk=police_return.pk).exists()
    matrix_page = client.get(f"/section11/{cycle.pk}/").content.decode()
    assert "NHS Greater Manchester ICB" in matrix_page and "Greater Manchester Police" not in matrix_page


def test_the_pages_save_a_rating_and_evidence(cycle: Section11Cycle, owner: User) -> None:
    agency_return = the_return(cycle, owner)
    rating = agency_return.ratings.get(standard__number=1)
    client = Client()
    client.force_login(owner)
    response = client.post(
        f"/section11/ratings/{rating.pk}/",
        {f"r{rating.pk}-self_rating": "green", f"r{rating.pk}-commentary": "Board owns it"},
        follow=True,
    )
    assert "Rating saved" in response.content.decode()
    client.post(
        f"/section11/ratings/{rating.pk}/evidence/",
        {f"e{rating.pk}-description": "Minutes", f"e{rating.pk}-url": "https://example.org/m"},
    )
    rating.refresh_from_db()
    assert rating.self_rating == "green" and rating.evidence.count() == 1
    assert client.get(f"/section11/returns/{agency_return.pk}/").status_code == 200
    assert client.get(f"/section11/{cycle.pk}/").status_code == 200


def test_the_framework_is_pinned_by_the_cycle(cycle: Section11Cycle, framework: Framework) -> None:
    assert cycle.framework == framework and framework.in_use
    assert cycle.framework.standards.count() == 8


def test_the_api_gives_the_transitions_contract_and_scopes_returns(
    cycle: Section11Cycle, owner: User, health_owner: User
) -> None:
    from rest_framework.test import APIClient

    police_return = the_return(cycle, owner)
    client = APIClient()
    client.force_authenticate(owner)
    listed = client.get("/api/section11-returns/").json()["results"]
    assert [r["id"] for r in listed] == [police_return.pk] and len(listed[0]["ratings"]) == 8
    rate_all(police_return, owner, Rating.AMBER)
    rating = police_return.ratings.first()
    assert rating is not None
    rating.evidence.all().delete()
    refused = client.post(f"/api/section11-returns/{police_return.pk}/transitions/submit/", {}, format="json")
    assert refused.status_code == 400 and "needs its evidence" in refused.json()["detail"]
    rating_add_evidence(rating=rating, actor=owner, description="Audit", url="https://example.org/a")
    assert (
        client.post(
            f"/api/section11-returns/{police_return.pk}/transitions/submit/", {}, format="json"
        ).status_code
        == 200
    )
    other = APIClient()
    other.force_authenticate(health_owner)
    assert other.get(f"/api/section11-returns/{police_return.pk}/").status_code == 404
    assert (
        other.post(
            f"/api/section11-returns/{police_return.pk}/transitions/submit/", {}, format="json"
        ).status_code
        == 404
    )


def test_returns_and_challenge_deadlines_are_chased(
    cycle: Section11Cycle, manager: User, owner: User, health_lead: User, chasing_on
) -> None:  # type: ignore[no-untyped-def]
    from notifications.models import OutboxEntry
    from notifications.sweep import sweep

    police_return = the_return(cycle, owner)
    rate_all(police_return, owner)
    transition_perform(obj=police_return, name="submit", actor=owner)
    transition_perform(obj=cycle, name="start_challenge", actor=manager)
    return_assign_reviewer(agency_return=police_return, actor=manager, reviewer=health_lead)
    police_return.refresh_from_db()
    transition_perform(obj=police_return, name="begin_challenge", actor=manager)
    sweep(on=timezone.localdate() + dt.timedelta(days=75))
    chased = set(OutboxEntry.objects.values_list("item_type__model", "recipient__username"))
    assert ("section11challenge", "health.lead") in chased  # the reviewer's deadline
    assert ("section11return", "health.owner") in chased  # the ICB's return, not submitted
    assert ("section11return", "police.owner") not in chased  # submitted: nothing owed


def test_the_demo_cycle_is_in_challenge_with_eight_agencies() -> None:
    from django.core.management import call_command

    call_command("seed_demo")
    cycle = Section11Cycle.objects.get(name="Section 11 audit 2026")
    assert cycle.state == "challenge" and cycle.returns.count() == 8
    states = sorted(cycle.returns.values_list("state", flat=True))
    assert (
        states.count("submitted") == 6
        and states.count("not_started") == 1
        and states.count("under_challenge") == 1
    )
    late = cycle.returns.get(state="not_started")
    assert late.due_on < timezone.localdate()
    revised = StandardRating.objects.get(agency_return__state="under_challenge", standard__number=4)
    assert (revised.self_rating, revised.agreed_rating) == ("green", "amber")


def test_a_framework_in_use_is_read_only_and_is_changed_by_a_new_version(
    cycle: Section11Cycle, framework: Framework
) -> None:
    from django.contrib.auth.models import User as AuthUser

    admin_user = AuthUser.objects.create_superuser("root", "root@example.org", "pw")
    client = Client()
    client.force_login(admin_user)
    # Viewable, but a change is refused.
    assert client.get(f"/admin/audits/framework/{framework.pk}/change/").status_code == 200
    refused = client.post(
        f"/admin/audits/framework/{framework.pk}/change/", {"name": "Renamed", "version": 1}
    )
    assert refused.status_code == 403
    assert Framework.objects.get(pk=framework.pk).name == "Section 11 standards"
    response = client.post(
        "/admin/audits/framework/",
        {"action": "copy_as_new_version", "_selected_action": [framework.pk]},
        follow=True,
    )
    assert response.status_code == 200
    new = Framework.objects.get(name=framework.name, version=2)
    assert new.standards.count() == 8 and not new.in_use
    from audits.services.section11 import current_framework

    assert current_framework() == new
    assert Section11Cycle.objects.get(pk=cycle.pk).framework == framework  # the cycle keeps its version


def test_ratings_and_challenge_through_the_api(
    cycle: Section11Cycle, manager: User, owner: User, health_lead: User
) -> None:
    from rest_framework.test import APIClient

    police_return = the_return(cycle, owner)
    agency, reviewer = APIClient(), APIClient()
    agency.force_authenticate(owner)
    reviewer.force_authenticate(health_lead)
    for rating in police_return.ratings.all():
        assert (
            agency.post(
                f"/api/section11-ratings/{rating.pk}/rate/", {"self_rating": "green"}, format="json"
            ).status_code
            == 200
        )
        assert (
            agency.post(
                f"/api/section11-ratings/{rating.pk}/evidence/",
                {"description": "Minutes", "url": "https://example.org/m"},
                format="json",
            ).status_code
            == 200
        )
    bad = agency.post(
        f"/api/section11-ratings/{rating.pk}/rate/", {"self_rating": "not_applicable"}, format="json"
    )
    assert bad.status_code == 400 and "does not apply" in str(bad.json())
    assert (
        agency.post(
            f"/api/section11-returns/{police_return.pk}/transitions/submit/", {}, format="json"
        ).status_code
        == 200
    )
    transition_perform(obj=cycle, name="start_challenge", actor=manager)
    police_return.refresh_from_db()
    return_assign_reviewer(agency_return=police_return, actor=manager, reviewer=health_lead)
    police_return.refresh_from_db()
    transition_perform(obj=police_return, name="begin_challenge", actor=manager)
    first = police_return.ratings.order_by("standard__number").first()
    assert first is not None
    proposed = reviewer.post(
        f"/api/section11-ratings/{first.pk}/challenge/",
        {"agree": False, "proposed_rating": "amber", "reasoning": "Thin"},
        format="json",
    )
    assert proposed.status_code == 200 and proposed.json()["proposed_rating"] == "amber"
    assert (
        agency.post(
            f"/api/section11-ratings/{first.pk}/challenge/", {"agree": True}, format="json"
        ).status_code
        == 403
    )
    assert (
        agency.post(f"/api/section11-ratings/{first.pk}/respond/", {"accept": True}, format="json").json()[
            "agreed_rating"
        ]
        == "amber"
    )


def test_section11_evidence_files_go_with_their_rows(
    cycle: Section11Cycle, owner: User, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    rating = the_return(cycle, owner).ratings.get(standard__number=1)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    first, second = (
        rating_add_evidence(
            rating=rating, actor=owner, description=name, file=SimpleUploadedFile(f"{name}.pdf", pdf)
        )
        for name in ("minutes", "policy")
    )
    paths = [Path(e.file.path) for e in (first, second)]
    assert all(p.exists() for p in paths)
    with django_capture_on_commit_callbacks(execute=True):
        first.delete()
    assert not paths[0].exists() and paths[1].exists()
    # The rating's deletion cascades to its evidence, and the files go too.
    with django_capture_on_commit_callbacks(execute=True):
        rating.delete()
    assert not paths[1].exists()
