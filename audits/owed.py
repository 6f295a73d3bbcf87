"""What audits owe and the case types they are: registered with the engine from AuditsConfig.ready()."""

from __future__ import annotations

from django.db.models import Q

from workflows.owed import Owed, register
from workflows.selectors import agency_of_viewer

from .models import (
    AgencyReturn,
    Audit,
    AuditState,
    CaseAudit,
    CycleState,
    ReturnState,
    Section11Challenge,
    Section11Cycle,
    Section11Return,
    Section11ReturnState,
)
from .section11_reports import section11_cycles_visible_to, section11_returns_visible_to
from .selectors import audits_visible_to, case_audits_visible_to, returns_visible_to


def register_owed() -> None:
    register(
        Owed(
            model=Audit,
            kind="Multi-agency audit",
            url_name="audit-detail",
            stages="Multi-agency audits by stage",
            visible_to=audits_visible_to,
            source_of_recommendations=True,
        )
    )
    register(
        Owed(
            model=CaseAudit,
            kind="Single-agency case audit",
            url_name="case-audit-detail",
            stages="Case audits by stage",
            visible_to=case_audits_visible_to,
            source_of_recommendations=True,
        )
    )
    register(
        Owed(
            model=Section11Cycle,
            kind="Section 11 cycle",
            url_name="section11-cycle-detail",
            stages="Section 11 cycles by stage",
            visible_to=section11_cycles_visible_to,
        )
    )
    # A return is owed while fieldwork lasts: once moderation starts it is in, or recorded as not
    # received by a manager, and chasing it would ask for something nobody can give any more.
    register(
        Owed(
            model=AgencyReturn,
            kind="Audit return",
            url_name="return-detail",
            open=Q(state=ReturnState.OWED, case__audit__state=AuditState.FIELDWORK),
            chair_field="case__audit__chair",
            label_field="title",
            visible_to=returns_visible_to,
        )
    )
    # A section 11 return is owed while the cycle is open (a late one still, through challenge).
    register(
        Owed(
            model=Section11Return,
            kind="Section 11 return",
            url_name="section11-return-detail",
            open=Q(
                state__in=[Section11ReturnState.NOT_STARTED, Section11ReturnState.IN_PROGRESS],
                cycle__state__in=[CycleState.OPEN, CycleState.CHALLENGE],
            ),
            chair_field="cycle__lead",
            label_field="title",
            visible_to=section11_returns_visible_to,
            source_of_recommendations=True,
            # A reviewer sees the return they challenge, but its actions are the reviewed agency's own.
            recommendations_open_to=lambda user: section11_returns_visible_to(user).filter(
                agency_id=agency_of_viewer(user)
            ),
        )
    )
    # The reviewer's challenge deadline is chased until the challenge is finished.
    register(
        Owed(
            model=Section11Challenge,
            kind="Section 11 challenge",
            url_name="section11-challenge-detail",
            open=Q(finished_at__isnull=True),
            owner_field="reviewer",
            agency_field="reviewer__person__agency",
            chair_field="agency_return__cycle__lead",
            label_field="title",
        )
    )
