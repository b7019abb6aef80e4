"""Concrete request paths (/v1/api-keys/key_01...) mapped to the OpenAPI operations they hit."""

from __future__ import annotations

import functools
import re
from typing import Any

from conformance import specs

# Path segments that are data (IDs), used only for paths the spec does not document.
_ID_SEGMENT = re.compile(r"^(?=.*\d)[A-Za-z0-9_.:~-]{8,}$|^\d+$")


@functools.cache
def _templates(vendor: str) -> tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...]:
    paths: dict[str, Any] = specs.load_openapi(vendor).get("paths") or {}
    compiled = []
    for template in paths:
        body = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}/]+\})", template)
        )
        # The suffix form serves targets whose base URL carries a path prefix the spec's paths leave out.
        compiled.append((template, re.compile(body), re.compile(r"(?:/[^?#]*)?" + body)))
    # Literal paths before templated ones, so /v1/auth/uat wins over /v1/auth/{x}.
    compiled.sort(key=lambda t: (t[0].count("{"), -len(t[0]), t[0]))
    return tuple(compiled)


def template_for(vendor: str, path: str) -> tuple[str, bool]:
    """(the spec's path template, True) for a concrete path, or (the path with ID segments folded, False)."""
    path = path.split("?")[0] or "/"
    templates = _templates(vendor)
    for template, exact, _ in templates:
        if exact.fullmatch(path):
            return template, True
    for template, _, suffix in templates:
        if suffix.fullmatch(path):
            return template, True
    folded = "/".join("{id}" if _ID_SEGMENT.match(seg) else seg for seg in path.split("/"))
    return folded, False


def documented_statuses(vendor: str, template: str, method: str) -> set[str]:
    """The response codes the spec documents for an operation (may include "default" or "4XX")."""
    op = ((specs.load_openapi(vendor).get("paths") or {}).get(template) or {}).get(method.lower()) or {}
    return {str(code) for code in (op.get("responses") or {})}


def is_documented(vendor: str, template: str, method: str, status: int) -> bool:
    codes = documented_statuses(vendor, template, method)
    return str(status) in codes or f"{str(status)[0]}XX" in codes or "default" in codes
