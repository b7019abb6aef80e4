"""Redaction of secrets in text: credentials and learned tokens in every encoded form and fragment, secret shapes."""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode

MASK = "[REDACTED]"
# Field names whose values are secrets wherever they appear (JSON or form bodies).
SECRET_FIELD = re.compile(r"(?i)^(.*pass(word)?.*|.*secret.*|.*token|key|.*api_?key|access_?key|refresh_?token)$")
NOT_SECRET_FIELD = re.compile(r"(?i)^(token_type|key_id|.*_id|id)$")
# Shapes that are secrets even when nobody registered them: JWTs and Knowledge Stack keys.
SECRET_SHAPES = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*|ks_live_[A-Za-z0-9_-]+")
FORM_SHAPED = re.compile(r"[\w.%+-]+=[^&\s]*(&[\w.%+-]+=[^&\s]*)*")


# The substring floor: any run of this many characters or more taken from a registered secret, or from one of its
# encoded forms (see `forms`), is masked wherever it appears: head and tail halves and truncations of a token too.
# One exception keeps reports readable when a secret holds ordinary words ("mock-klearstack-password"): a piece made
# of letters only never starts a mask on its own, it only extends one begun by a piece that holds anything else.
# Values shorter than the floor (but at least MIN_SECRET long) are masked only whole.
FRAGMENT_FLOOR = 8
MIN_SECRET = 4
# User info in a URL (`https://user:password@host`): the password never reaches text, registered or not.
USERINFO = re.compile(r"(?<=://)[^/\s@:]*:[^/\s@]*(?=@)")


def is_secret_field(name: str) -> bool:
    return bool(SECRET_FIELD.match(name)) and not NOT_SECRET_FIELD.match(name)


def forms(secret: str) -> set[str]:
    """Every form a secret takes when a server or a library echoes it: raw, JSON-, repr- and HTML-escaped,
    URL-encoded, and base64 (standard and URL-safe, at each of the three byte alignments it may sit at inside
    a longer encoded value, such as `user:password` in a Basic header)."""
    out = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        html.escape(secret),
        quote(secret, safe=""),
        quote_plus(secret),
    }
    raw = secret.encode("utf-8", "replace")
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            core = encode(b"\0" * pad + raw).decode("ascii").rstrip("=")
            # Keep only the characters made of the secret's bits alone: the ones beside it depend on its neighbours.
            core = core[(pad * 4 + 2) // 3 : -2]
            out.add(core)
    return {f for f in out if len(f) >= MIN_SECRET}


class Secret(str):
    """A credential: the value itself wherever it is used, `[REDACTED]` wherever it is shown with repr()
    (tracebacks' function arguments and locals, Hypothesis's falsifying examples, container reprs)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)


class Redactor:
    """Masks every form and every FRAGMENT_FLOOR-long piece of every registered secret, and secret shapes.

    Thread-safe: secrets are added from any thread while others redact. Each secret adds the FRAGMENT_FLOOR-long
    windows of each of its forms to one set; redacting a text looks up each of its windows (one pass, no regex
    to recompile as tokens are learned) and masks every run of windows found.
    """

    def __init__(self, secrets: list[str] | tuple[str, ...] = ()) -> None:
        self._secrets: set[str] = set()
        self._grams: set[str] = set()
        self._words: set[str] = set()
        self._short: tuple[str, ...] = ()
        self._lock = threading.Lock()
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        # Short values would mask ordinary words; credentials that short are not worth hiding.
        if not secret or len(secret) < MIN_SECRET:
            return
        secret = str(secret)
        with self._lock:
            if secret in self._secrets:
                return
            self._secrets.add(secret)
            if len(secret) < FRAGMENT_FLOOR:
                self._short = tuple(sorted({*self._short, secret}, key=len, reverse=True))
                return
            for form in forms(secret):
                if len(form) < FRAGMENT_FLOOR:
                    self._short = tuple(sorted({*self._short, form}, key=len, reverse=True))
                    continue
                windows = {form[i : i + FRAGMENT_FLOOR] for i in range(len(form) - FRAGMENT_FLOOR + 1)}
                words = {w for w in windows if w.isalpha()}
                if words == windows:
                    # Nothing but letters (a passphrase of words): masked whole, never by its pieces.
                    self._short = tuple(sorted({*self._short, form}, key=len, reverse=True))
                self._grams |= windows - words
                self._words |= words

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

    def learn(self, body: str, content_type: str = "", headers: list[tuple[str, str]] = ()) -> None:
        """Register the secrets a response carries, whatever its media type says: the values of secret-named
        fields of a JSON or form-encoded body and of secret-named headers."""
        for name, value in headers:
            if is_secret_field(name.lower().removeprefix("x-").replace("-", "_")):
                self.add(value.partition(" ")[2] if value.lower().startswith("bearer ") else value)
        text = body.strip()
        if text.startswith(("{", "[")):
            try:
                self.learn_from_json(json.loads(text))
                return
            except ValueError:
                pass
        if "x-www-form-urlencoded" in content_type.lower() or FORM_SHAPED.fullmatch(text):
            for key, value in parse_qsl(text, keep_blank_values=True):
                if is_secret_field(key):
                    self.add(value)

    def text(self, value: str) -> str:
        value = USERINFO.sub(MASK, str(value))
        for secret in self._short:
            if secret in value:
                value = value.replace(secret, MASK)
        grams = self._grams
        if grams and len(value) >= FRAGMENT_FLOOR:
            value = _mask_runs(value, grams, self._words)
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
                redacted.append((self.text(name), self.text(value)))
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


def _mask_runs(value: str, grams: set[str], words: set[str]) -> str:
    """`value` with every run of known windows replaced by one mask; letter-only windows only extend a run."""
    floor = FRAGMENT_FLOOR
    spans: list[list[int]] = []
    for i in range(len(value) - floor + 1):
        if value[i : i + floor] in grams:
            if spans and i <= spans[-1][1]:
                spans[-1][1] = i + floor
            else:
                spans.append([i, i + floor])
    if not spans:
        return value
    for span in spans:
        while span[1] < len(value) and value[span[1] - floor + 1 : span[1] + 1] in words:
            span[1] += 1
        while span[0] > 0 and value[span[0] - 1 : span[0] - 1 + floor] in words:
            span[0] -= 1
    out, last = [], 0
    for start, end in spans:
        if end <= last:
            continue
        out += [value[last : max(start, last)], MASK]
        last = end
    out.append(value[last:])
    return "".join(out)
