"""What is owed is described once per model, by the app that owns it, and checked when registered: a typo
stops the project starting instead of silently chasing, counting or listing nothing."""

from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db.models import Q

from audits.models import AgencyReturn, Audit, Section11Challenge, Section11Return
from reviews.models import Chronology, RapidReview
from workflows import owed
from workflows.models import Action, Agency, Plan, StatutoryClock
from workflows.owed import Owed
from workflows.transitions import register_effect


@pytest.fixture
def registry() -> Iterator[None]:
    """Registrations made by a test are forgotten after it."""
    saved = dict(owed._owed)
    owed._owed.clear()
    yield
    owed._owed.clear()
    owed._owed.update(saved)


def an_action(**fields: object) -> Owed:
    return Owed(
        **{
            "model": Action,
            "kind": "Action",
            "url_name": "action-detail",
            "open": Q(state="agreed"),
            **fields,  # type: ignore[arg-type]
        }
    )


def test_every_case_type_declares_what_it_owes_and_it_checks_clean() -> None:
    assert {o.model for o in owed.chaseables()} == {
        Action,
        StatutoryClock,
        AgencyReturn,
        Section11Return,
        Section11Challenge,
        Chronology,
    }
    assert {Plan, Audit, RapidReview, Section11Return} <= {o.model for o in owed.recommendation_sources()}
    assert owed.chaseable_for(Audit) is None and owed.owed_for(Audit) is not None
    call_command("check", fail_level="ERROR")


@pytest.mark.parametrize(
    "typo",
    [
        {"due_field": "due_onn"},
        {"owner_field": "ownr"},
        {"agency_field": "agency__nme"},
        {"chair_field": "recommendation__chiar"},
        {"source_type_field": "recommendation__source_typ", "source_id_field": "recommendation__source_id"},
        {"round_field": "reopened_cont"},
        {"label_field": "descripton"},
        {"open": Q(stat__in=["agreed"])},
        {"open": Q(recommendation__chiar__isnull=True)},
    ],
)
def test_a_typo_in_what_is_owed_fails_at_start_up(registry: None, typo: dict[str, object]) -> None:
    with pytest.raises(ImproperlyConfigured):
        owed.register(an_action(**typo))
    assert owed.everything() == []


def test_a_path_to_the_wrong_kind_of_thing_fails_at_start_up(registry: None) -> None:
    with pytest.raises(ImproperlyConfigured, match="must lead to a User"):
        owed.register(an_action(owner_field="agency"))
    with pytest.raises(ImproperlyConfigured, match="must be a date"):
        owed.register(an_action(due_field="description"))
    with pytest.raises(ImproperlyConfigured, match="both its type and its id"):
        owed.register(an_action(source_type_field="recommendation__source_type"))


def test_counting_stages_of_a_model_without_a_state_machine_fails_at_start_up(registry: None) -> None:
    with pytest.raises(ImproperlyConfigured, match="stages"):
        owed.register(Owed(model=Agency, kind="Agency", url_name=None, stages="Agencies by stage"))


def test_a_model_is_described_once(registry: None) -> None:
    owed.register(an_action())
    with pytest.raises(ImproperlyConfigured, match="already registered"):
        owed.register(an_action(kind="Another action"))


def test_a_typo_in_an_owed_page_fails_the_start_up_check(registry: None) -> None:
    owed.register(an_action(url_name="action-detial"))
    assert [e.id for e in owed.check_owed_urls()] == ["workflows.E001"]
    with pytest.raises(SystemCheckError, match="action-detial"):
        call_command("check")


def test_a_typo_in_a_transition_effect_fails_at_start_up() -> None:
    with pytest.raises(ImproperlyConfigured, match="sign_of"):
        register_effect(Action, "sign_of")
    with pytest.raises(ImproperlyConfigured, match="submit_to_panle"):
        register_effect(RapidReview, "submit_to_panle")
