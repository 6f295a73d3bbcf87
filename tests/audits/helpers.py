"""Answer audit returns the way an agency's person does: through the service the pages use."""

from django.contrib.auth.models import User

from audits.models import AgencyReturn, Audit, Grade
from audits.services.audits import return_save


def answer(
    agency_return: AgencyReturn, person: User, *, grade: str = Grade.GOOD, submit: bool = True
) -> None:
    return_save(
        agency_return=agency_return,
        actor=person,
        submit=submit,
        knew="Known to the agency since 2024",
        did="Two welfare visits",
        strengths="Prompt information sharing",
        shortfalls="No follow-up after the second visit",
        own_grade=grade,
    )


def returns_of(audit: Audit) -> list[AgencyReturn]:
    return list(AgencyReturn.objects.filter(case__audit=audit).select_related("agency", "case"))
