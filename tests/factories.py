import datetime as dt

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from workflows import roles
from workflows.models import Action, Agency, Person, Plan, Recommendation, Theme


class AgencyFactory(factory.django.DjangoModelFactory[Agency]):
    class Meta:
        model = Agency
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Agency {n}")
    kind = Agency.Kind.HEALTH


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw")

    # Post-generation hooks receive the built User, not the factory.
    @factory.post_generation
    def person(user: User, create: bool, extracted: Agency | None, **kwargs: object) -> None:
        if create:
            Person.objects.get_or_create(user=user, defaults={"agency": extracted or AgencyFactory.create()})

    @factory.post_generation
    def roles(user: User, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            # The groups are migrate's (workflows.roles): a missing one is a broken install, not a gap
            # for the test to paper over.
            user.groups.set([Group.objects.get(name=name) for name in extracted])


def person_in(agency: Agency, *role_names: str, **fields: object) -> User:
    """A user who works for ``agency`` with the given roles."""
    return UserFactory.create(person=agency, roles=list(role_names) or [roles.ACTION_OWNER], **fields)


class ThemeFactory(factory.django.DjangoModelFactory[Theme]):
    class Meta:
        model = Theme
        django_get_or_create = ["name"]

    name = "Neglect"


class PlanFactory(factory.django.DjangoModelFactory[Plan]):
    class Meta:
        model = Plan
        django_get_or_create = ["name"]

    name = "Business plan"


class RecommendationFactory(factory.django.DjangoModelFactory[Recommendation]):
    class Meta:
        model = Recommendation

    text = factory.Sequence(lambda n: f"Recommendation {n}")
    reference = factory.Sequence(lambda n: str(n))
    theme = factory.SubFactory(ThemeFactory)
    source = factory.SubFactory(PlanFactory)


class ActionFactory(factory.django.DjangoModelFactory[Action]):
    """A draft action; move it on with tests.workflows helpers, never by setting its state."""

    class Meta:
        model = Action

    recommendation = factory.SubFactory(RecommendationFactory)
    description = factory.Sequence(lambda n: f"Deliver improvement {n} by the due date")
    owner = factory.SubFactory(UserFactory)
    agency = factory.LazyAttribute(lambda a: a.owner.person.agency if a.owner else None)
    due_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))
