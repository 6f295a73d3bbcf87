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

__all__ = [
    "AgencyReturn",
    "Audit",
    "AuditCase",
    "AuditState",
    "CaseAudit",
    "CaseAuditState",
    "Finding",
    "Grade",
    "Participation",
    "ReturnState",
    "Shortfall",
]
