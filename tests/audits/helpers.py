"""Answer audit returns the way an agency's person does: through the service the pages use."""

from django.contrib.auth.models import User

from audits.models import AgencyReturn, Audit, Grade, Rating, Section11Cycle, Section11Return
from audits.services.audits import return_save
from audits.services.section11 import rating_add_evidence, rating_save


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


def rate_all(agency_return: Section11Return, person: User, rating: str = Rating.GREEN) -> None:
    for standard_rating in agency_return.ratings.all():
        rating_save(
            rating=standard_rating, actor=person, self_rating=rating, commentary="As the evidence shows"
        )
        rating_add_evidence(
            rating=standard_rating, actor=person, description="Board minutes", url="https://example.org/m"
        )


def the_return(cycle: Section11Cycle, person: User) -> Section11Return:
    return Section11Return.objects.get(cycle=cycle, agency=person.person.agency)
