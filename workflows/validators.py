"""What every case type shares: grades, and pseudonymised references for children and cases."""

import re

from django.core.exceptions import ValidationError
from django.db import models


class Grade(models.TextChoices):
    OUTSTANDING = "outstanding", "Outstanding"
    GOOD = "good", "Good"
    REQUIRES_IMPROVEMENT = "requires_improvement", "Requires improvement"
    INADEQUATE = "inadequate", "Inadequate"


# "Child A", or a case number with at least one digit ("EHE-03", "NT/2026/017"). A reference with no
# digit is most likely a name, and a date-shaped one most likely a date of birth: the system holds neither.
_CASE_REFERENCE = re.compile(r"^(Child [A-Z]{1,2}|(?=.*\d)[A-Za-z0-9]+(?:[-/][A-Za-z0-9]+)*)$")
_DATE_LIKE = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def validate_case_reference(value: str) -> None:
    if not _CASE_REFERENCE.match(value) or _DATE_LIKE.search(value):
        raise ValidationError(
            "Use a pseudonymised case reference such as “EHE-03” or “Child A”: "
            "never a name or a date of birth",
            code="not_pseudonymised",
        )
