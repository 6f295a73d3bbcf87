"""The error answers every endpoint can give, in the OpenAPI schema, so clients (and the schema suite)
know them: added to each operation by a drf-spectacular postprocessing hook, in one place."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# A refused request names each field it refuses (nested for nested fields), or lists what is wrong with
# the whole; a refusal by a rule says why in "detail".
INVALID = {
    "oneOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {"type": "string"}},
    ]
}

THROTTLED = "Too many requests from this person or address; the answer says when to try again"
UNAUTHENTICATED = "No valid personal token or signed-in session"
FORBIDDEN = "Not permitted to do this (or, with no token, not signed in)"
NOT_FOUND = "No such object that you may see, or no such page"
BAD_REQUEST = "The request was refused; the answer says why"


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document_errors(result: dict[str, Any], generator: Any, **_: Any) -> dict[str, Any]:
    """Every operation: 401, 403 and 429. With a path parameter, or a page number: 404. With a body or query
    parameters: 400. What an operation documents itself (409 for a changed state) is kept."""
    for path, item in result.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            parameters = operation.get("parameters", [])
            responses.setdefault("401", _json(UNAUTHENTICATED, ERROR))
            responses.setdefault("403", _json(FORBIDDEN, ERROR))
            responses.setdefault("429", _json(THROTTLED, ERROR))
            if "{" in path or any(p.get("name") == "page" for p in parameters):
                responses.setdefault("404", _json(NOT_FOUND, ERROR))
            if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
                responses["400"] = _json(BAD_REQUEST, INVALID)
    return result
