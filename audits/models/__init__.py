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
from .common import Grade

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
