"""Redaction of secrets in recorded HTTP traffic: known credentials, tokens seen in responses, JWT-shaped strings."""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import parse_qsl, urlencode

MASK = "[REDACTED]"
# Field names whose values are secrets wherever they appear (JSON or form bodies).
SECRET_FIELD = re.compile(r"(?i)^(.*pass(word)?.*|.*secret.*|.*token|key|.*api_?key|access_?key|refresh_?token)$")
NOT_SECRET_FIELD = re.compile(r"(?i)^(token_type|key_id|.*_id|id)$")
# Shapes that are secrets even when nobody registered them: JWTs and Knowledge Stack keys.
SECRET_SHAPES = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*|ks_live_[A-Za-z0-9_-]+")


_PENDING_LIMIT = 64


def is_secret_field(name: str) -> bool:
    return bool(SECRET_FIELD.match(name)) and not NOT_SECRET_FIELD.match(name)


class Redactor:
    """Replaces every registered secret and every secret-shaped string with a mask; thread-safe."""

    def __init__(self, secrets: list[str] | tuple[str, ...] = ()) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        # Secrets are folded into one compiled pattern in batches; the newest few are masked with str.replace.
        # Recompiling per new secret cost more than the traffic it guarded (every test learns a new token).
        self._pattern: re.Pattern[str] | None = None
        self._pending: tuple[str, ...] = ()
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        # Short values would mask ordinary words; credentials that short are not worth hiding.
        if not secret or len(secret) < 4:
            return
        with self._lock:
            if secret in self._secrets:
                return
            self._secrets.add(secret)
            if any(secret in known for known in self._secrets if known != secret):
                # A longer secret must be masked before any part of it: fold everything into one ordered pattern.
                self._pattern, self._pending = None, ()
            else:
                self._pending = tuple(sorted((*self._pending, secret), key=len, reverse=True))
                if len(self._pending) > _PENDING_LIMIT:
                    self._pattern, self._pending = None, ()

    def learn_from_json(self, data: Any) -> None:
        """Register the values of secret-named fields found in a decoded JSON document."""
        if isinstance(data, dict):
            for k, val in data.items():
                if isinstance(val, str) and is_secret_field(str(k)):
                    self.add(val)
                else:
                    self.learn_from_json(val)
        elif isinstance(data, list):
            for item in data:
                self.learn_from_json(item)

    def _compiled(self) -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
        with self._lock:
            if self._pattern is None and self._secrets:
                folded = self._secrets.difference(self._pending)
                if folded:
                    ordered = sorted(folded, key=len, reverse=True)
                    self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
            return self._pattern, self._pending

    def text(self, value: str) -> str:
        pattern, pending = self._compiled()
        # Newest first: a new secret may contain an older one, never the reverse (add() folds that case).
        for secret in pending:
            if secret in value:
                value = value.replace(secret, MASK)
        if pattern is not None:
            value = pattern.sub(MASK, value)
        return SECRET_SHAPES.sub(MASK, value)

    def authorization(self, value: str) -> str:
        """Keep the scheme and the spacing a reader needs to see; mask every credential part."""
        parts = re.split(r"(\s+)", value)
        out = []
        for i, part in enumerate(parts):
            if not part or part.isspace():
                out.append(part.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n"))
            elif i == 0 and part.isalpha() and len(part) <= 12:
                out.append(part)
            else:
                out.append(f"{MASK}({len(part)} chars)")
        return "".join(out)

    def headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        redacted = []
        for name, value in headers:
            if name.lower() in ("authorization", "proxy-authorization"):
                redacted.append((name, self.authorization(value)))
            elif name.lower() in ("cookie", "set-cookie", "x-api-key"):
                redacted.append((name, MASK))
            else:
                redacted.append((name, self.text(value)))
        return redacted

    def body(self, body: str, content_type: str = "") -> str:
        """A request or response body with secret fields masked, then every known secret masked."""
        ctype = content_type.lower()
        if "json" in ctype or body.lstrip().startswith(("{", "[")):
            try:
                data = json.loads(body)
            except ValueError:
                return self.text(body)
            return self.text(json.dumps(_mask_fields(data), ensure_ascii=False))
        if "x-www-form-urlencoded" in ctype:
            pairs = parse_qsl(body, keep_blank_values=True)
            return self.text(urlencode([(k, MASK if is_secret_field(k) else v) for k, v in pairs]))
        return self.text(body)


def _mask_fields(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            k: (MASK if isinstance(v, str) and is_secret_field(str(k)) else _mask_fields(v)) for k, v in data.items()
        }
    if isinstance(data, list):
        return [_mask_fields(v) for v in data]
    return data
