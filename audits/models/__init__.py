from workflows.validators import Grade

from .audits import (
    AgencyReturn,
    Audit,
    AuditCase,
    AuditState,
    Finding,
    Participation,
    ReturnState,
)
from .case_audits import CaseAudit, CaseAuditState, Shortfall
from .section11 import (
    CycleState,
    Framework,
    Rating,
    Section11Challenge,
    Section11Cycle,
    Section11Evidence,
    Section11Return,
    Standard,
    StandardRating,
)
from .section11 import ReturnState as Section11ReturnState

__all__ = [
    "AgencyReturn",
    "Audit",
    "AuditCase",
    "AuditState",
    "CaseAudit",
    "CaseAuditState",
    "CycleState",
    "Finding",
    "Framework",
    "Grade",
    "Participation",
    "Rating",
    "ReturnState",
    "Section11Challenge",
    "Section11Cycle",
    "Section11Evidence",
    "Section11Return",
    "Section11ReturnState",
    "Shortfall",
    "Standard",
    "StandardRating",
]
