"""Auth-related response headers reduced to what is stable across runs: schemes, error codes, media types."""

from __future__ import annotations

import re

# The headers observations record (see the plugin); the order is the order drift reports show them in.
AUTH_HEADERS = ("www-authenticate", "content-type", "cache-control", "retry-after")
ABSENT = "(absent)"

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(rf"^({_TOKEN})\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^\s,]*)$")
_SCHEME = re.compile(rf"^({_TOKEN})(?:\s+(.*))?$", re.S)


def _split_commas(value: str) -> list[str]:
    """Comma-separated list items, commas inside quoted strings kept."""
    parts, buf, quoted, escaped = [], [], False, False
    for ch in value:
        if escaped:
            buf.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            buf.append(ch)
            escaped = True
        elif ch == '"':
            buf.append(ch)
            quoted = not quoted
        elif ch == "," and not quoted:
            parts.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf).strip())
    return [p for p in parts if p]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def www_authenticate(value: str) -> str:
    """Each challenge as `scheme (error=<code>; other param names)`: realm and description texts vary, codes do not.

    The scheme is lower-cased because RFC 9110 §11.1 makes it case-insensitive; a change of case is not drift.
    """
    challenges: list[tuple[str, dict[str, str]]] = []
    for item in _split_commas(value):
        param = _PARAM.match(item)
        if param and challenges:
            challenges[-1][1][param.group(1).lower()] = _unquote(param.group(2))
            continue
        scheme = _SCHEME.match(item)
        if not scheme:
            challenges.append((item.lower(), {}))
            continue
        params: dict[str, str] = {}
        rest = (scheme.group(2) or "").strip()
        first = _PARAM.match(rest) if rest else None
        if first:
            params[first.group(1).lower()] = _unquote(first.group(2))
        elif rest:
            params["token68"] = rest
        challenges.append((scheme.group(1).lower(), params))
    out = []
    for scheme, params in challenges:
        # "bearer (error=...; ...)": a parenthesis right after the scheme keeps the text from reading as a
        # "Bearer <credential>" pair to the secret scrubber.
        inner = [f"error={params['error']}"] if "error" in params else []
        others = sorted(k for k in params if k != "error")
        if others:
            inner.append(", ".join(others))
        out.append(f"{scheme} ({'; '.join(inner)})" if inner else scheme)
    return " | ".join(out)


def content_type(value: str) -> str:
    """The media type alone: charset and boundary parameters are not part of the contract drift watches."""
    return value.split(";")[0].strip().lower()


def cache_control(value: str) -> str:
    """Directive names, sorted: the values (max-age seconds) are tuning, the directives are policy."""
    names = {part.split("=")[0].strip().lower() for part in value.split(",") if part.strip()}
    return ", ".join(sorted(names))


def retry_after(value: str) -> str:
    """Whether Retry-After is given in seconds or as a date; the number itself changes with load."""
    return "delay-seconds" if value.strip().isdigit() else "http-date"


NORMALISERS = {
    "www-authenticate": www_authenticate,
    "content-type": content_type,
    "cache-control": cache_control,
    "retry-after": retry_after,
}


def normalise(name: str, value: str) -> str:
    name = name.lower()
    return NORMALISERS[name](value) if name in NORMALISERS else " ".join(value.split())
