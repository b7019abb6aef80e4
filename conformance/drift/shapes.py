"""JSON Schema inferred from observed JSON bodies: types and required keys only, merged over observations."""

from __future__ import annotations

import re
from typing import Any

from conformance.drift.scrub import is_secret_text

# Object keys that are data rather than field names (IDs, tokens used as keys) would make every run's schema
# differ; they fold into additionalProperties instead.
_ID_LIKE_KEY = re.compile(r"^(?=(?:.*\d){3})[A-Za-z0-9_.:-]{16,}$")
NOT_JSON = "(not JSON)"


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _data_key(key: str) -> bool:
    return bool(_ID_LIKE_KEY.match(key)) or is_secret_text(key)


def infer(value: Any) -> dict[str, Any]:
    """The schema of one JSON value: its type, and for objects and arrays the schemas of what they hold."""
    kind = _type_of(value)
    schema: dict[str, Any] = {"type": kind}
    if kind == "object":
        props: dict[str, Any] = {}
        extra: dict[str, Any] | None = None
        for key, item in value.items():
            key = str(key)
            if _data_key(key):
                extra = infer(item) if extra is None else merge(extra, infer(item))
            else:
                props[key] = infer(item)
        schema["properties"] = {k: props[k] for k in sorted(props)}
        schema["required"] = sorted(props)
        if extra is not None:
            schema["additionalProperties"] = extra
    elif kind == "array":
        items: dict[str, Any] | None = None
        for item in value:
            items = infer(item) if items is None else merge(items, infer(item))
        if items is not None:
            schema["items"] = items
    return schema


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type", [])
    return {t} if isinstance(t, str) else set(t)


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """One schema that both inputs satisfy: union of types and properties, intersection of required keys."""
    ta, tb = _types(a), _types(b)
    types = sorted(ta | tb)
    out: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    if "object" in ta or "object" in tb:
        pa, pb = a.get("properties", {}), b.get("properties", {})
        props = {}
        for key in sorted(set(pa) | set(pb)):
            props[key] = merge(pa[key], pb[key]) if key in pa and key in pb else (pa.get(key) or pb[key])
        out["properties"] = props
        if "object" in ta and "object" in tb:
            required = set(a.get("required", [])) & set(b.get("required", []))
        else:
            required = set((a if "object" in ta else b).get("required", []))
        out["required"] = sorted(required)
        xa, xb = a.get("additionalProperties"), b.get("additionalProperties")
        if xa is not None or xb is not None:
            out["additionalProperties"] = merge(xa, xb) if xa is not None and xb is not None else (xa or xb)
    if "array" in ta or "array" in tb:
        ia, ib = a.get("items"), b.get("items")
        if ia is not None or ib is not None:
            out["items"] = merge(ia, ib) if ia is not None and ib is not None else (ia or ib)
    return out


def flatten(schema: dict[str, Any] | None) -> dict[str, tuple[str, bool]]:
    """Field path -> (type, always present) for every field of a schema; "$" is the body itself."""
    out: dict[str, tuple[str, bool]] = {}
    if schema is None:
        out["$"] = (NOT_JSON, True)
        return out

    def walk(node: dict[str, Any], path: str, required: bool) -> None:
        types = sorted(_types(node))
        out[path] = ("|".join(types), required)
        req = set(node.get("required", []))
        for key, child in node.get("properties", {}).items():
            walk(child, f"{path}.{key}", key in req)
        if "additionalProperties" in node:
            walk(node["additionalProperties"], f"{path}.*", False)
        if "items" in node:
            walk(node["items"], f"{path}[]", True)

    walk(schema, "$", True)
    return out
