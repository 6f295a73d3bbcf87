"""Every guard that stops an audit's stage from being skipped says why and changes nothing."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from audits.models import AgencyReturn, Audit, AuditCase, AuditState, Grade, ReturnState
from audits.services.audits import (
    audit_add_action,
    audit_add_case,
    audit_add_recommendation,
    audit_create,
    audit_decide_no_recommendations,
    audit_update,
    case_moderate,
    finding_add,
)
from tests.audits.helpers import answer, returns_of
from tests.workflows.helpers import advance
from workflows.models import Action, Agency
from workflows.transitions import TransitionRefused, transition_perform

pytestmark = pytest.mark.django_db


def refused(audit: Audit, name: str, actor: User, comment: str = "") -> str:
    state = audit.state
    with pytest.raises(TransitionRefused) as refusal:
        transition_perform(obj=audit, name=name, actor=actor, comment=comment)
    assert Audit.objects.get(pk=audit.pk).state == state
    return str(refusal.value)


def in_moderation(audit: Audit, auditor: User, owner: User, health_owner: User) -> Audit:
    for agency_return in returns_of(audit):
        answer(agency_return, owner if agency_return.agency == owner.person.agency else health_owner)
    transition_perform(obj=audit, name="start_moderation", actor=auditor)
    return audit


def in_reporting(audit: Audit, auditor: User, owner: User, health_owner: User) -> Audit:
    in_moderation(audit, auditor, owner, health_owner)
    for case in audit.cases.all():
        case_moderate(case=case, actor=auditor, agreed_grade=Grade.GOOD)
    transition_perform(obj=audit, name="start_reporting", actor=auditor)
    return audit


def test_no_fieldwork_without_a_case_and_two_agencies(
    auditor: User, police: Agency, police_lead: User
) -> None:
    audit = audit_create(
        actor=auditor,
        reference="A1",
        title="Neglect",
        returns_due_on=timezone.localdate() + dt.timedelta(days=9),
    )
    transition_perform(obj=audit, name="start_scoping", actor=auditor)
    message = "Fieldwork needs at least one case in the sample and at least two participating agencies"
    assert refused(audit, "start_fieldwork", auditor) == message
    audit_add_case(audit=audit, actor=auditor, reference="N-1")
    from audits.services.audits import audit_add_agency

    audit_add_agency(audit=audit, actor=auditor, agency=police)
    assert refused(audit, "start_fieldwork", auditor) == message
    assert not AgencyReturn.objects.exists()


def test_no_fieldwork_without_the_returns_date(scoped_audit: Audit, auditor: User) -> None:
    audit_update(audit=scoped_audit, actor=auditor, returns_due_on=None)
    assert "date the agencies' returns are due" in refused(scoped_audit, "start_fieldwork", auditor)


def test_fieldwork_opens_a_return_per_case_and_agency_due_on_the_returns_date(
    fieldwork_audit: Audit, owner: User
) -> None:
    returns = returns_of(fieldwork_audit)
    assert sorted((r.case.reference, r.agency.name, r.owner) for r in returns) == [
        ("EHE-01", "Greater Manchester Police", owner),
        ("EHE-01", "NHS Greater Manchester ICB", None),
        ("EHE-02", "Greater Manchester Police", owner),
        ("EHE-02", "NHS Greater Manchester ICB", None),
    ]
    assert {r.due_on for r in returns} == {fieldwork_audit.returns_due_on}


def test_scope_is_fixed_once_fieldwork_starts(fieldwork_audit: Audit, auditor: User) -> None:
    with pytest.raises(
        ValidationError, match="Adding a case is not possible while the audit is at the fieldwork stage"
    ):
        audit_add_case(audit=fieldwork_audit, actor=auditor, reference="EHE-03")
    with pytest.raises(ValidationError, match="scope"):
        audit_update(audit=fieldwork_audit, actor=auditor, title="Something else")
    audit_update(audit=fieldwork_audit, actor=auditor, moderation_due_on=timezone.localdate())


def test_no_moderation_while_returns_are_outstanding(
    fieldwork_audit: Audit, auditor: User, owner: User
) -> None:
    answer(returns_of(fieldwork_audit)[0], owner)
    assert "Returns are still outstanding" in refused(fieldwork_audit, "start_moderation", auditor)
    assert refused(fieldwork_audit, "override_to_moderation", auditor, comment="late") == (
        "Only a manager may move to moderation while returns are outstanding"
    )


def test_manager_override_needs_a_reason_and_records_the_missing_returns(
    fieldwork_audit: Audit, manager: User, owner: User
) -> None:
    police_returns = [r for r in returns_of(fieldwork_audit) if r.owner == owner]
    for agency_return in police_returns:
        answer(agency_return, owner)
    assert "Say why" in refused(fieldwork_audit, "override_to_moderation", manager)
    transition_perform(
        obj=fieldwork_audit,
        name="override_to_moderation",
        actor=manager,
        comment="Health returns a month late",
    )
    assert fieldwork_audit.state == AuditState.MODERATION
    states = {r.agency.name: r.state for r in returns_of(fieldwork_audit)}
    assert states == {
        "Greater Manchester Police": ReturnState.SUBMITTED,
        "NHS Greater Manchester ICB": ReturnState.NOT_RECEIVED,
    }
    not_received = AgencyReturn.objects.filter(state=ReturnState.NOT_RECEIVED).first()
    assert not_received is not None
    assert not_received.history.first().history_change_reason.endswith("Health returns a month late")  # type: ignore[union-attr]


def test_a_return_cannot_be_submitted_incomplete(fieldwork_audit: Audit, owner: User) -> None:
    from audits.services.audits import return_save

    agency_return = returns_of(fieldwork_audit)[0]
    with pytest.raises(TransitionRefused, match="Answer every question"):
        return_save(agency_return=agency_return, actor=owner, submit=True, knew="Something")
    agency_return.refresh_from_db()
    assert agency_return.state == ReturnState.OWED and agency_return.knew == ""


def test_moderation_needs_reasons_where_the_agreed_grade_differs(
    fieldwork_audit: Audit, auditor: User, owner: User, health_owner: User
) -> None:
    audit = in_moderation(fieldwork_audit, auditor, owner, health_owner)
    case = audit.cases.get(reference="EHE-01")
    with pytest.raises(
        ValidationError, match="differs from the grade given by Greater Manchester Police, NHS"
    ):
        case_moderate(case=case, actor=auditor, agreed_grade=Grade.INADEQUATE)
    assert AuditCase.objects.get(pk=case.pk).agreed_grade == ""
    case_moderate(
        case=case, actor=auditor, agreed_grade=Grade.INADEQUATE, grade_reasons="No child seen alone"
    )
    assert "Every case needs an agreed grade" in refused(audit, "start_reporting", auditor)


def test_no_action_planning_without_a_finding_or_a_decision(
    fieldwork_audit: Audit, auditor: User, owner: User, health_owner: User
) -> None:
    audit = in_reporting(fieldwork_audit, auditor, owner, health_owner)
    assert "at least one finding" in refused(audit, "start_action_planning", auditor)
    audit_decide_no_recommendations(
        audit=audit, actor=auditor, decided=True, reason="Practice was good throughout"
    )
    transition_perform(obj=audit, name="start_action_planning", actor=auditor)
    transition_perform(obj=audit, name="start_monitoring", actor=auditor)
    transition_perform(obj=audit, name="close", actor=auditor)
    assert audit.state == AuditState.CLOSED


def test_no_monitoring_while_a_recommendation_has_no_agreed_action(
    fieldwork_audit: Audit, auditor: User, owner: User, health_owner: User, manager: User
) -> None:
    audit = in_reporting(fieldwork_audit, auditor, owner, health_owner)
    finding_add(audit=audit, actor=auditor, text="Children not seen alone")
    transition_perform(obj=audit, name="start_action_planning", actor=auditor)
    assert "Add the recommendations" in refused(audit, "start_monitoring", auditor)
    recommendation = audit_add_recommendation(audit=audit, actor=auditor, text="See the child alone")
    assert "Every recommendation needs at least one agreed action" in refused(
        audit, "start_monitoring", auditor
    )
    action = audit_add_action(
        audit=audit,
        recommendation=recommendation,
        actor=auditor,
        description="Brief staff",
        owner=owner,
        due_on=timezone.localdate() + dt.timedelta(days=30),
    )
    assert "Every recommendation needs" in refused(
        audit, "start_monitoring", auditor
    )  # a draft is not agreed
    advance(action, "agreed", manager=manager)
    transition_perform(obj=audit, name="start_monitoring", actor=auditor)
    assert "cannot close while actions are open" in refused(audit, "close", auditor)
    advance(Action.objects.get(pk=action.pk), "completed", manager=manager)
    transition_perform(obj=audit, name="close", actor=auditor)


def test_cancel_needs_a_reason_and_is_not_possible_once_monitoring(
    fieldwork_audit: Audit, auditor: User
) -> None:
    assert refused(fieldwork_audit, "cancel", auditor) == "A reason is required to cancel an audit"
    transition_perform(obj=fieldwork_audit, name="cancel", actor=auditor, comment="Merged into the CSPR")
    assert fieldwork_audit.state == AuditState.CANCELLED
    # Cancelled returns are no longer owed to anyone.
    from workflows.owed import chaseable_for

    spec = chaseable_for(AgencyReturn)
    assert spec is not None and not AgencyReturn.objects.filter(spec.open).exists()


def test_an_owner_cannot_progress_an_audit(scoped_audit: Audit, owner: User) -> None:
    assert (
        refused(scoped_audit, "start_fieldwork", owner)
        == "Only an auditor or a manager may progress an audit"
    )


@pytest.mark.parametrize("reference", ["Jane Smith", "Smith", "12/03/2015", "EHE 01", ""])
def test_case_references_must_be_pseudonymised(scoped_audit: Audit, auditor: User, reference: str) -> None:
    with pytest.raises(ValidationError):
        audit_add_case(audit=scoped_audit, actor=auditor, reference=reference)
    assert scoped_audit.cases.count() == 2


@pytest.mark.parametrize("reference", ["Child A", "EHE-03", "NT/2026/017"])
def test_pseudonymised_references_are_accepted(scoped_audit: Audit, auditor: User, reference: str) -> None:
    audit_add_case(audit=scoped_audit, actor=auditor, reference=reference)


def test_a_recommendation_cannot_follow_a_no_recommendations_decision(
    fieldwork_audit: Audit, auditor: User, owner: User, health_owner: User
) -> None:
    audit = in_reporting(fieldwork_audit, auditor, owner, health_owner)
    with pytest.raises(ValidationError, match="Say why"):
        audit_decide_no_recommendations(audit=audit, actor=auditor, decided=True)
    audit_decide_no_recommendations(audit=audit, actor=auditor, decided=True, reason="Good practice")
    with pytest.raises(ValidationError, match="withdraw that decision first"):
        audit_add_recommendation(audit=audit, actor=auditor, text="Something")
    assert not audit.recommendations.exists()


def test_an_agency_with_no_lead_needs_a_named_person_for_its_returns(
    scoped_audit: Audit, auditor: User
) -> None:
    from audits.services.audits import audit_add_agency
    from tests.factories import AgencyFactory, person_in

    youth = AgencyFactory.create(name="Youth Network")
    with pytest.raises(ValidationError, match="Youth Network has no agency lead"):
        audit_add_agency(audit=scoped_audit, actor=auditor, agency=youth)
    worker = person_in(youth)
    audit_add_agency(audit=scoped_audit, actor=auditor, agency=youth, contact=worker)
