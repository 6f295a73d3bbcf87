import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from audits.models import Audit, Framework, Section11Cycle, Standard
from audits.section11_defaults import install_default
from audits.services.audits import audit_add_agency, audit_add_case, audit_create
from audits.services.section11 import cycle_add_agency, cycle_create
from workflows.models import Agency
from workflows.transitions import transition_perform


@pytest.fixture
def scoped_audit(
    auditor: User, owner: User, health_owner: User, health_lead: User, police: Agency, health: Agency
) -> Audit:
    """An audit in scoping with two cases, police (returns by the police owner) and health (by its leads)."""
    audit = audit_create(
        actor=auditor,
        reference="EHE-2026",
        title="Elective home education",
        returns_due_on=timezone.localdate() + dt.timedelta(days=20),
    )
    transition_perform(obj=audit, name="start_scoping", actor=auditor)
    for reference in ("EHE-01", "EHE-02"):
        audit_add_case(audit=audit, actor=auditor, reference=reference)
    audit_add_agency(audit=audit, actor=auditor, agency=police, contact=owner)
    audit_add_agency(audit=audit, actor=auditor, agency=health)
    return audit


@pytest.fixture
def fieldwork_audit(scoped_audit: Audit, auditor: User) -> Audit:
    transition_perform(obj=scoped_audit, name="start_fieldwork", actor=auditor)
    return scoped_audit


@pytest.fixture
def framework() -> Framework:
    return install_default(Framework, Standard)


@pytest.fixture
def cycle(
    framework: Framework, manager: User, owner: User, health_owner: User, police: Agency, health: Agency
) -> Section11Cycle:
    """A section 11 cycle just opened, with police (completed by the police owner) and health taking part."""
    today = timezone.localdate()
    cycle = cycle_create(
        actor=manager,
        name="Section 11 2026",
        lead=manager,
        returns_due_on=today + dt.timedelta(days=30),
        challenge_due_on=today + dt.timedelta(days=60),
    )
    cycle_add_agency(cycle=cycle, actor=manager, agency=police, owner=owner)
    cycle_add_agency(cycle=cycle, actor=manager, agency=health, owner=health_owner)
    transition_perform(obj=cycle, name="open", actor=manager)
    return cycle
