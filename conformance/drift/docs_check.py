"""Doc drift: does the quote of every claim still appear in the vendor's current documentation text?"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

from conformance import specs

# Below this similarity the closest passage is unrelated text, and the quote is reported as vanished.
CHANGED_MIN_RATIO = 0.6
USER_AGENT = "auth-conformance-suite docs-check"


class DocsCheckError(Exception):
    """The doc could not be read (unreachable URL, missing file); `infrastructure` tells the CLI which."""

    def __init__(self, message: str, *, infrastructure: bool = False) -> None:
        super().__init__(message)
        self.infrastructure = infrastructure


@dataclass(frozen=True)
class QuoteResult:
    """One claim's quote: found verbatim, changed (a close passage differs), or vanished."""

    claim: str
    title: str
    quote: str
    status: str  # found | changed | vanished
    now: str = ""
    similarity: float = 0.0


@dataclass
class DocsCheck:
    vendor: str
    source: str
    results: list[QuoteResult] = field(default_factory=list)

    def by_status(self, status: str) -> list[QuoteResult]:
        return [r for r in self.results if r.status == status]

    @property
    def ok(self) -> bool:
        return all(r.status == "found" for r in self.results)


def markdown_url(url: str) -> str:
    """The Markdown twin of a doc page: the doc sites serve it when `.md` is appended to the page path.

    Site roots, paths ending in "/" and paths that already name a file are left as they are.
    """
    parts = urlsplit(url)
    path = parts.path
    last = path.rsplit("/", 1)[-1]
    if not last or "." in last:
        return url
    return urlunsplit((parts.scheme, parts.netloc, path + ".md", parts.query, ""))


def _html_to_text(text: str) -> str:
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", text)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def fetch(url: str, *, timeout: float = 20.0, session: requests.Session | None = None) -> tuple[str, str]:
    """(text, URL actually read): the `.md` twin first, the page itself when the twin does not exist."""
    http = session or requests.Session()
    http.headers.setdefault("User-Agent", USER_AGENT)
    candidates = list(dict.fromkeys([markdown_url(url), url]))
    try:
        for i, candidate in enumerate(candidates):
            try:
                response = http.get(candidate, timeout=timeout)
            except requests.RequestException as exc:
                raise DocsCheckError(f"cannot read {candidate}: {type(exc).__name__}", infrastructure=True) from None
            if response.status_code == 404 and i + 1 < len(candidates):
                continue
            if response.status_code != 200:
                raise DocsCheckError(
                    f"{candidate} answered {response.status_code}", infrastructure=response.status_code >= 500
                )
            text = response.text
            if "html" in response.headers.get("Content-Type", "").lower():
                text = _html_to_text(text)
            return text, candidate
    finally:
        if session is None:
            http.close()
    raise DocsCheckError(f"cannot read {url}")  # pragma: no cover - the loop always returns or raises


def read_source(source: str, *, timeout: float = 20.0, session: requests.Session | None = None) -> tuple[str, str]:
    """(text, where) from an http(s) URL or a local file."""
    if urlsplit(source).scheme in ("http", "https"):
        return fetch(source, timeout=timeout, session=session)
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8", errors="replace"), str(path)
    except FileNotFoundError:
        raise DocsCheckError(f"{source}: no such file (give a doc URL or a file)") from None
    except OSError as exc:
        raise DocsCheckError(f"{source}: cannot read: {exc.strerror or exc}") from None


def _closest(quote: str, doc_words: list[str]) -> tuple[float, str]:
    """The doc passage most like the quote (same length in words) and its similarity, 0..1."""
    q = quote.lower().split()
    if not q or not doc_words:
        return 0.0, ""
    lowered = [w.lower() for w in doc_words]
    matcher = difflib.SequenceMatcher(None, q, lowered, autojunk=False)
    starts = set()
    for block in matcher.get_matching_blocks():
        if block.size:
            starts.add(max(0, block.b - block.a))
    # Words locate candidate passages; characters score them, so "1800" -> "3600" in a short quote still
    # reads as a change of that quote rather than as unrelated text.
    wanted = " ".join(q)
    best = (0.0, "")
    for start in sorted(starts):
        window = " ".join(lowered[start : start + len(q)])
        ratio = difflib.SequenceMatcher(None, wanted, window, autojunk=False).ratio()
        if ratio > best[0]:
            best = (ratio, " ".join(doc_words[start : start + len(q)]))
    return best


def check_text(vendor: str, text: str, source: str = "") -> DocsCheck:
    """Every claim of the vendor's claims.yaml checked against the doc text (normalised as quotes are)."""
    doc = specs.normalise_doc_text(text)
    words = doc.split()
    result = DocsCheck(vendor, source)
    for claim in specs.load_claims(vendor):
        if claim.quote in doc:
            result.results.append(QuoteResult(claim.id, claim.title, claim.quote, "found", claim.quote, 1.0))
            continue
        ratio, now = _closest(claim.quote, words)
        status = "changed" if ratio >= CHANGED_MIN_RATIO else "vanished"
        result.results.append(
            QuoteResult(claim.id, claim.title, claim.quote, status, now if status == "changed" else "", ratio)
        )
    return result


def check(
    vendor: str, source: str | None = None, *, timeout: float = 20.0, session: requests.Session | None = None
) -> DocsCheck:
    """Read the doc (default: the URL the claims file names) and check every quote against it."""
    if source is None:
        claims = specs.load_claims(vendor)
        if not claims:
            raise DocsCheckError(f"specs/{vendor}/claims.yaml has no claims to check")
        source = claims[0].doc_url
    text, where = read_source(source, timeout=timeout, session=session)
    return check_text(vendor, text, where)
