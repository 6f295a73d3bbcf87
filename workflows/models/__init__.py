from .actions import (
    CLOSED_STATES,
    OPEN_STATES,
    PROGRESS_UPDATE,
    RAG,
    Action,
    ActionChangeRequest,
    ActionState,
    Evidence,
    ExtensionRequest,
    Plan,
    PlanUpload,
    ProgressNote,
    Recommendation,
    Theme,
)
from .agencies import Agency, Person
from .calendar import ClosureDay
from .clocks import StatutoryClock
from .transitions import RefusedAttempt, TransitionLog

__all__ = [
    "CLOSED_STATES",
    "OPEN_STATES",
    "PROGRESS_UPDATE",
    "RAG",
    "Action",
    "ActionChangeRequest",
    "ActionState",
    "Agency",
    "ClosureDay",
    "Evidence",
    "ExtensionRequest",
    "Person",
    "Plan",
    "PlanUpload",
    "ProgressNote",
    "Recommendation",
    "RefusedAttempt",
    "StatutoryClock",
    "Theme",
    "TransitionLog",
]
