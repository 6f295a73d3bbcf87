"""The isolation crawl: over the demo, with a marker planted in every agency's private records, every URL
pattern (pages, the API as JSON and as HTML, exports, downloads) is read with every object id of its kind,
by a lead and an owner of two agencies. Any marker of an agency not theirs in a response is a leak."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import ApiToken
from audits.models import (
    AgencyReturn,
    Audit,
    CaseAudit,
    Section11Challenge,
    Section11Cycle,
    Section11Return,
    Shortfall,
    StandardRating,
)
from notifications.models import ChasePause
from reviews.models import Chronology, PracticeReview, RapidReview
from workflows.models import (
    Action,
    ActionChangeRequest,
    Agency,
    Evidence,
    ExtensionRequest,
    Plan,
    PlanUpload,
    ProgressNote,
    Recommendation,
    StatutoryClock,
    TransitionLog,
)

pytestmark = pytest.mark.django_db

# The model whose ids fill a route's ``pk``, by how the route begins: the first match wins. A new route
# with a ``pk`` that matches none fails the crawl until it is added here, so nothing goes uncrawled.
ROUTE_MODELS: list[tuple[str, type[models.Model] | None]] = [
    ("api/^actions/", Action),
    ("api/^recommendations/", Recommendation),
    ("api/^transition-log/", TransitionLog),
    ("api/^audits/", Audit),
    ("api/^audit-returns/", AgencyReturn),
    ("api/^case-audits/", CaseAudit),
    ("api/^section11-cycles/", Section11Cycle),
    ("api/^section11-returns/", Section11Return),
    ("api/^section11-ratings/", StandardRating),
    ("api/^rapid-reviews/", RapidReview),
    ("api/^practice-reviews/", PracticeReview),
    ("api/^chronologies/", Chronology),
    ("account/tokens/", ApiToken),
    ("chasing/pauses/", ChasePause),
    ("audits/", Audit),
    ("returns/", AgencyReturn),
    ("case-audits/", CaseAudit),
    ("section11/returns/", Section11Return),
    ("section11/ratings/", StandardRating),
    ("section11/challenges/", Section11Challenge),
    ("section11/", Section11Cycle),
    ("reviews/rapid/", RapidReview),
    ("reviews/practice/", PracticeReview),
    ("reviews/<str:kind>/", RapidReview),
    ("chronologies/", Chronology),
    ("actions/", Action),
    ("extensions/", ExtensionRequest),
    ("change-requests/", ActionChangeRequest),
    ("evidence/", Evidence),
    ("clocks/", StatutoryClock),
    ("plans/import/", PlanUpload),
    ("plans/", Plan),
]
# Every value a route's other parts take: export formats, review kinds; ids of a second object are 1.
EXPORTS = ["csv", "xlsx", "pdf", "html"]
REVIEW_KINDS = ["rapid", "practice"]
SKIPPED = {"password_reset_confirm", "logout", "api-schema", "api-docs"}

# An agency's marker; a section 11 return's also names the return, which its reviewer (from another
# agency) is given to see during the challenge, and nothing else of that agency.
MARK = re.compile(r"LEAKMARK(\d+)(?:R(\d+))?X")


def mark(agency_id: int | None, section11_return: int | None = None) -> str:
    return f" LEAKMARK{agency_id}{f'R{section11_return}' if section11_return else ''}X"


def plant_markers() -> None:
    """Each agency's private text carries its marker: a marker elsewhere is another agency's record."""
    agency_of: list[tuple[type[models.Model], str, list[str]]] = [
        (Action, "agency_id", ["description", "outcome_measure"]),
        (ProgressNote, "action__agency_id", ["text"]),
        (Evidence, "action__agency_id", ["description"]),
        (ExtensionRequest, "action__agency_id", ["reason"]),
        (AgencyReturn, "agency_id", ["knew", "did", "strengths", "shortfalls"]),
        (Chronology, "agency_id", ["summary"]),
        (CaseAudit, "agency_id", ["summary"]),
        (Shortfall, "case_audit__agency_id", ["description"]),
    ]
    for model, path, fields in agency_of:
        for obj in model.objects.all():  # type: ignore[attr-defined]
            agency_id = _follow(obj, path)
            for name in fields:
                setattr(obj, name, f"{getattr(obj, name)}{mark(agency_id)}")
            model.objects.filter(pk=obj.pk).update(**{name: getattr(obj, name) for name in fields})  # type: ignore[attr-defined]
    for rating in StandardRating.objects.select_related("agency_return"):
        rating.commentary += mark(rating.agency_return.agency_id, rating.agency_return_id)
        StandardRating.objects.filter(pk=rating.pk).update(commentary=rating.commentary)
    # A case audit's shortfalls are recommendations too, and so are an agency's section 11 gaps.
    for source_model in (CaseAudit, Section11Return):
        source_type = ContentType.objects.get_for_model(source_model)
        for source in source_model.objects.all():  # type: ignore[attr-defined]
            Recommendation.objects.filter(source_type=source_type, source_id=source.pk).update(
                text=Concat(
                    "text",
                    Value(mark(source.agency_id, source.pk if source_model is Section11Return else None)),
                )
            )


def _follow(obj: Any, path: str) -> Any:
    for part in path.split("__")[:-1]:
        obj = getattr(obj, part)
    return getattr(obj, path.split("__")[-1])


def routes() -> Iterator[tuple[str, str, list[str]]]:
    """Each named pattern (but its format-suffix twins): its route text, name and parameter names."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, URLPattern]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern), p

    seen = set()
    for route, pattern in walk(get_resolver().url_patterns, ""):
        params = list(pattern.pattern.regex.groupindex)
        if not pattern.name or pattern.name in SKIPPED or "format" in params or route.startswith("admin/"):
            continue
        if (pattern.name, tuple(params)) in seen or route.startswith(("static", "media")):
            continue
        seen.add((pattern.name, tuple(params)))
        yield route, pattern.name, params


def urls_of(route: str, name: str, params: list[str]) -> Iterator[str]:
    if "pk" not in params:
        others = [p for p in params if p != "pk"]
        for values in _combinations(route, others):
            yield reverse(name, kwargs=values)
        return
    model = next((m for prefix, m in ROUTE_MODELS if route.startswith(prefix)), None)
    assert model is not None, f"the crawl does not know which ids fill {route}: add it to ROUTE_MODELS"
    ids = list(model.objects.values_list("pk", flat=True))  # type: ignore[attr-defined]
    if route.startswith("reviews/<str:kind>/"):
        ids = sorted(set(ids) | set(PracticeReview.objects.values_list("pk", flat=True)))
    others = [p for p in params if p != "pk"]
    for values in _combinations(route, others):
        for pk in ids:
            try:
                yield reverse(name, kwargs={**values, "pk": pk})
            except Exception:  # a value (a kind) the route does not take
                continue


def _combinations(route: str, params: list[str]) -> Iterator[dict[str, Any]]:
    if not params:
        yield {}
        return
    first, rest = params[0], params[1:]
    values = {"kind": REVIEW_KINDS if route.startswith("reviews/") else EXPORTS, "name": ["x"]}
    for value in values.get(first, ["1"]):
        for more in _combinations(route, rest):
            yield {first: value, **more}


def viewers() -> list[User]:
    """A lead and an owner of each of two agencies that have both."""
    chosen: list[User] = []
    for agency in Agency.objects.exclude(kind=Agency.Kind.PARTNERSHIP).order_by("pk"):
        people = User.objects.filter(person__agency=agency, is_active=True)
        lead = people.filter(groups__permissions__codename="view_agency_work").first()
        owner = people.filter(
            ~Q(groups__permissions__codename="view_agency_work"), actions__isnull=False
        ).first()
        if lead and owner:
            chosen += [lead, owner]
        if len(chosen) == 4:
            return chosen
    pytest.fail("the demo needs two agencies with a lead and an action owner")


def test_no_agency_sees_another_agencys_records_on_any_url(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("seed_demo", verbosity=0)
    plant_markers()
    urls = [url for route, name, params in routes() for url in urls_of(route, name, params)]
    started = time.monotonic()
    requests, leaks = 0, []
    for viewer in viewers():
        own = str(viewer.person.agency_id)
        reviewing = {
            str(pk) for pk in Section11Return.objects.filter(reviewer=viewer).values_list("pk", flat=True)
        }
        client = Client()
        client.force_login(viewer)
        for url in urls:
            variants = [{"format": "json"}, {"format": "api"}] if url.startswith("/api/") else [{}]
            for query in variants:
                response = client.get(url, query)
                requests += 1
                body = response.getvalue()
                found = {
                    agency
                    for agency, reviewed in MARK.findall(body.decode(errors="replace"))
                    if agency != own and reviewed not in reviewing
                }
                if found:
                    leaks.append(f"{viewer.username} {url} {query}: agencies {sorted(found)}")
    with capsys.disabled():
        print(
            f"\nisolation crawl: {requests} requests, {len(leaks)} leaks, {time.monotonic() - started:.0f} s"
        )
    assert not leaks, "\n".join(leaks)


def _text_of(response: Any) -> str:
    """A response's text; an Excel file's cells, which its zip would hide from a search of the bytes."""
    body = response.getvalue()
    if body[:2] != b"PK":
        return str(body.decode(errors="replace"))
    import io

    from openpyxl import load_workbook

    cells = load_workbook(io.BytesIO(body), read_only=True).active.iter_rows(values_only=True)  # type: ignore[union-attr]
    return "\n".join(str(value) for row in cells for value in row if value is not None)


def test_a_lead_or_owner_of_another_agency_finds_no_trace_of_it_in_oversight_whatever_they_ask() -> None:
    """The queue, its exports, the dashboard (drawn), the exception report and the chasing page, asked as
    a lead and an owner for another agency's rows by every parameter they take (agency=, after=, before=,
    source=, owner=, sort=): nothing of the other agency (its private text, references, name) comes back."""
    from oversight.dashboard import draw_partnership_figures
    from workflows.models import OPEN_STATES

    call_command("seed_demo", verbosity=0)
    plant_markers()
    draw_partnership_figures(today=timezone.localdate())
    leaks = []
    for viewer in viewers():
        own = viewer.person.agency_id
        others = Agency.objects.exclude(pk=own).exclude(kind=Agency.Kind.PARTNERSHIP)
        client = Client()
        client.force_login(viewer)
        for other in others.filter(actions__state__in=OPEN_STATES).distinct():
            theirs = Action.objects.filter(agency=other, state__in=OPEN_STATES).exclude(owner=viewer)
            first = theirs.order_by("due_on", "id").first()
            assert first is not None
            mine = set(
                Action.objects.filter(Q(agency_id=own) | Q(owner=viewer)).values_list("reference", flat=True)
            )
            references = {r for r in theirs.values_list("reference", flat=True) if len(r) > 3} - mine
            asks = [
                f"agency={other.pk}",
                f"after={first.pk}",
                f"before={first.pk}",
                f"after={first.pk}&sort=-due",
                f"before={first.pk}&sort=ref",
                f"source={first.recommendation.source_id}",
                f"owner={first.owner.username if first.owner else 'x'}",
                f"agency={other.pk}&agency={own}&sort=anything",
            ]
            for path in ["/queue/", "/queue/export.csv", "/queue/export.xlsx", "/dashboard/"]:
                for ask in asks:
                    response = client.get(f"{path}?{ask}")
                    text = _text_of(response) if response.status_code == 200 else ""
                    found = {a for a, _ in MARK.findall(text) if a != str(own)}
                    named = [other.name] if other.name in text else []
                    seen = sorted(r for r in references if re.search(rf"\b{re.escape(r)}\b", text))
                    if found or named or seen:
                        leaks.append(f"{viewer.username} {path}?{ask}: {found} {named} {seen[:5]}")
            for path in ["/exception-report/", "/exception-report.pdf", "/chasing/"]:
                status = client.get(f"{path}?agency={other.pk}&after={first.pk}").status_code
                if status not in (403, 404):
                    leaks.append(f"{viewer.username} {path}: {status}")
    assert not leaks, "\n".join(leaks)
