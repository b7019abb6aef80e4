"""The last line of defence: nothing credential-shaped leaves the suite in a drift file or an alert."""

from __future__ import annotations

from typing import Any

from conformance.redact import MASK, Redactor
from conformance.report.environment import looks_like_secret, secret_env_values

WITHHELD = "[withheld: looked like a credential]"
# Observations are redacted when recorded; this pass still catches secret shapes (JWTs, vendor key formats)
# and values of secret-named environment variables, in case something slipped through upstream.
_SHAPES = Redactor()


def is_secret_text(text: str) -> bool:
    """True when a string has the shape of a credential (or holds a secret env value)."""
    return _SHAPES.text(text) != text or looks_like_secret(text)


def scrub_text(text: str, env_secrets: list[str] | None = None) -> str:
    masked = _SHAPES.text(text)
    if looks_like_secret(masked.replace(MASK, ""), env_secrets):
        return WITHHELD
    return masked


def scrub(value: Any, env_secrets: list[str] | None = None) -> Any:
    """A copy of a JSON-like value with every string (keys included) checked and masked where needed."""
    if env_secrets is None:
        env_secrets = secret_env_values()
    if isinstance(value, str):
        return scrub_text(value, env_secrets)
    if isinstance(value, dict):
        return {scrub_text(str(k), env_secrets): scrub(v, env_secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, env_secrets) for v in value]
    return value
