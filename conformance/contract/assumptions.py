"""Where a contract check fired in the spec: on a part marked `x-assumption` (a guess) or on what the docs state."""

from __future__ import annotations

from typing import Any

from conformance import specs

# No vendor page lists every status an operation may answer: the spec's status lists are the suite's guess.
STATUS_LIST_GUESS = "no vendor doc lists every status an operation may answer; the spec's status list is a guess"


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow local $refs (#/components/...) of the vendor's own spec."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 20:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return node
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        if target is None:
            return node
        node, seen = target, seen + 1
    return node


def _note(node: Any) -> str:
    return node.get("x-assumption", "") if isinstance(node, dict) else ""


def operation(vendor: str, label: str) -> dict[str, Any] | None:
    method, _, path = label.partition(" ")
    item = specs.load_openapi(vendor).get("paths", {}).get(path)
    op = item.get(method.lower()) if isinstance(item, dict) else None
    return op if isinstance(op, dict) else None


def at(vendor: str, label: str, check: str, status: int | None, schema_path: list[Any] | None = None) -> str:
    """The `x-assumption` the check fired on ("" when it fired on what the docs state)."""
    spec = specs.load_openapi(vendor)
    op = operation(vendor, label)
    if op is None:
        return ""
    if _note(op):
        return f"operation {label}: {_note(op)}"
    if check == "status_code_conformance":
        return STATUS_LIST_GUESS
    responses = op.get("responses") or {}
    response = _resolve(spec, responses.get(str(status)) if status is not None else None)
    if _note(response):
        return f"{label} {status} response: {_note(response)}"
    if check == "response_headers_conformance" and isinstance(response, dict):
        for name, header in (response.get("headers") or {}).items():
            if _note(_resolve(spec, header)):
                return f"{label} {status} header {name}: {_note(_resolve(spec, header))}"
    if check == "response_schema_conformance" and isinstance(response, dict):
        media = (response.get("content") or {}).get("application/json") or {}
        return _along(spec, media.get("schema"), schema_path or [], label, status)
    return ""


def _along(spec: dict[str, Any], node: Any, path: list[Any], label: str, status: int | None) -> str:
    """The first x-assumption on the way from the response schema to the keyword that failed."""
    node = _resolve(spec, node)
    for step in [*path, None]:
        if _note(node):
            return f"{label} {status} body: {_note(node)}"
        if step is None or step == "$ref":
            continue
        nxt = node.get(step) if isinstance(node, dict) else None
        if nxt is None and isinstance(node, list) and isinstance(step, int) and step < len(node):
            nxt = node[step]
        if nxt is None:
            break
        node = _resolve(spec, nxt)
    return ""
