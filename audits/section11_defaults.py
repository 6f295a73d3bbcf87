"""The default section 11 framework's standards: used by the migration that ships it, and by the demo and
tests, which may start from an empty database."""

from __future__ import annotations

from typing import Any

DEFAULT_NAME = "Section 11 standards"

STANDARDS = [
    (
        "Senior management commitment to safeguarding",
        "Senior managers set and champion a culture in which safeguarding and promoting the welfare of "
        "children is everyone's responsibility, and are accountable for it at board level.",
        "Board minutes on safeguarding; a named executive lead; safeguarding in the business plan and risk "
        "register; the annual safeguarding report to the board.",
    ),
    (
        "Clear lines of accountability",
        "Everyone knows who is accountable for safeguarding at each level, and there is a named lead and "
        "deputy with the time, training and authority for the role.",
        "Structure chart with safeguarding leads; role descriptions; safeguarding lead's supervision and "
        "training records; governance terms of reference.",
    ),
    (
        "The voice of the child in service design",
        "Children's wishes, feelings and experiences shape how services are designed, delivered and "
        "reviewed.",
        "Consultations with children and what changed as a result; feedback mechanisms; case audits showing "
        "the child's voice recorded and acted on.",
    ),
    (
        "Safeguarding training and supervision",
        "Staff and volunteers have safeguarding training suited to their role, kept up to date, and "
        "supervision that supports safe practice.",
        "Training needs analysis; completion rates by level and team; supervision policy and audit of its "
        "quality; evaluation of training's effect on practice.",
    ),
    (
        "Safer recruitment and allegations management",
        "Recruitment deters and prevents unsuitable people from working with children, and allegations "
        "against staff are managed with the Local Authority Designated Officer.",
        "Safer recruitment policy; audit of DBS checks and references; trained recruiters; allegations "
        "procedure and log of referrals to the LADO.",
    ),
    (
        "Effective inter-agency working",
        "The agency works with partners to identify needs early and protect children, takes part in the "
        "partnership's work and escalates disagreements.",
        "Attendance at strategy meetings, conferences and core groups; use of the escalation policy; "
        "contribution to partnership audits and reviews.",
    ),
    (
        "Information sharing",
        "Information is shared in a timely and proportionate way to safeguard children, in line with "
        "statutory guidance and data protection law.",
        "Information sharing policy and agreements; staff guidance; audit of referrals' quality and "
        "timeliness; data protection impact assessments.",
    ),
    (
        "Policies and procedures",
        "Safeguarding policies and procedures are in place, reflect the partnership's procedures and are "
        "known and followed by staff.",
        "Current safeguarding and child protection policy with review dates; staff acknowledgement; audit "
        "of compliance; whistleblowing policy.",
    ),
]


def install_default(framework_model: Any, standard_model: Any) -> Any:
    """Version 1 of the default framework, created if it is not there; given the models so a migration
    can pass its historical ones."""
    framework, created = framework_model.objects.get_or_create(name=DEFAULT_NAME, version=1)
    if created:
        standard_model.objects.bulk_create(
            standard_model(
                framework=framework,
                number=number,
                title=title,
                expectations=expectations,
                evidence_guide=guide,
            )
            for number, (title, expectations, guide) in enumerate(STANDARDS, start=1)
        )
    return framework
