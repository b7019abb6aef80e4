"""Reading allure-results: one record per test (its latest attempt), classified into the suite's outcomes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .conventions import (
    ASSUMPTION_MESSAGE_REGEX,
    ASSUMPTION_PREFIX,
    CLAIM_ID_REGEX,
    LABEL_CLAIM,
    LABEL_EPIC,
    LABEL_FAILED_CLAIM,
    LABEL_OUTCOME,
    LABEL_STORY,
    LABEL_VENDOR,
    OUTCOME_WARNING,
)
from .errors import ReportError

RESULT_SUFFIX = "-result.json"
NO_VENDOR = "(no vendor)"

_ASSUMPTION = re.compile(ASSUMPTION_MESSAGE_REGEX)
_STORY = re.compile(rf"^({CLAIM_ID_REGEX})\s+(.*)$", re.S)
_OUTCOME_PREFIX = re.compile(r"^(?:XFAIL |Skipped: )")
# An exception type is noise before the plugin's own markers and after an assertion; otherwise
# (KeyError: ...) it says what went wrong.
_TYPE_PREFIX = re.compile(
    rf"^(?:AssertionError|Failed): |^[A-Za-z_][\w.]*: (?=INFRASTRUCTURE|{ASSUMPTION_PREFIX}|{CLAIM_ID_REGEX})"
)
# A finding as the plugin renders it: "<ID>[, <ID>]: <title> [<check>]" then indented expected/actual lines.
_FINDING = re.compile(rf"^({CLAIM_ID_REGEX}(?:, {CLAIM_ID_REGEX})*): .*\[([\w.-]+)\]\s*$")
_EXPECTED = re.compile(r"^\s+expected:\s*(.*)$")
_ACTUAL = re.compile(r"^\s+actual:\s*(.*)$")


@dataclass(frozen=True)
class Claim:
    """A claim a test verifies, as named by its labels."""

    id: str
    title: str


@dataclass(frozen=True)
class TestOutcome:
    """One test's latest attempt in a results folder, reduced to what the summary needs."""

    history_id: str
    name: str
    full_name: str
    status: str  # allure status
    outcome: str  # one of conventions.OUTCOMES
    vendor: str
    vendor_title: str
    claims: tuple[Claim, ...]
    message: str  # first line, without allure-pytest's prefixes
    start: int
    stop: int
    path: Path
    details: tuple[tuple[str, str], ...] = ()  # (claim ID, "[check] expected X, got Y") from the findings
    failed_claim_ids: tuple[str, ...] = ()  # the claims the plugin named as contradicted (failed_claim labels)

    def detail(self, claim_id: str) -> str:
        return next((text for cid, text in self.details if cid == claim_id), "")

    def failing_claims(self) -> tuple[Claim, ...]:
        """Claims the plugin labelled as contradicted; else those the message names; else all of the test's claims."""
        if self.failed_claim_ids:
            by_id = {c.id: c for c in self.claims}
            return tuple(by_id.get(cid, Claim(cid, "")) for cid in self.failed_claim_ids)
        named = tuple(c for c in self.claims if re.search(rf"(?<![\w.-]){re.escape(c.id)}(?![\w.-])", self.message))
        return named or self.claims


def result_files(results_dir: Path) -> list[Path]:
    """The `*-result.json` files of one allure-results folder, in a stable order."""
    return sorted(Path(results_dir).glob("*" + RESULT_SUFFIX))


def read_result(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"unreadable test result {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ReportError(f"unreadable test result {path}: not a JSON object")
    return data


def labels(result: dict[str, Any], name: str) -> list[str]:
    return [str(lb.get("value", "")) for lb in result.get("labels") or () if lb.get("name") == name]


def first_line(message: str | None) -> str:
    for line in (message or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def classify(result: dict[str, Any]) -> str:
    """Map an allure status (and the plugin's warning marks) to passed/failed/warning/broken/skipped."""
    status = result.get("status")
    if status == "skipped":
        message = (result.get("statusDetails") or {}).get("message") or ""
        if OUTCOME_WARNING in labels(result, LABEL_OUTCOME) or _ASSUMPTION.search(message):
            return "warning"
        return "skipped"
    if status in ("passed", "failed", "broken"):
        return status
    # "unknown" or missing: the test did not finish normally, which is never the vendor's doing.
    return "broken"


def _claims(result: dict[str, Any]) -> tuple[Claim, ...]:
    titles: dict[str, str] = {}
    for story in labels(result, LABEL_STORY):
        match = _STORY.match(story.strip())
        if match:
            titles.setdefault(match.group(1), match.group(2).strip())
    ids = labels(result, LABEL_CLAIM) or list(titles)
    seen: dict[str, Claim] = {}
    for cid in ids:
        seen.setdefault(cid, Claim(cid, titles.get(cid, "")))
    return tuple(seen.values())


def _clean_message(message: str) -> str:
    line = _TYPE_PREFIX.sub("", _OUTCOME_PREFIX.sub("", first_line(message), count=1), count=1)
    return line[:300] + ("…" if len(line) > 300 else "")


def finding_details(message: str) -> tuple[tuple[str, str], ...]:
    """Per claim, the check and expected/actual of the first finding that names it."""
    details: dict[str, str] = {}
    ids: list[str] = []
    check = expected = None
    for line in (message or "").splitlines():
        head = _FINDING.match(line)
        if head:
            ids, check, expected = head.group(1).split(", "), head.group(2), None
        elif ids and (match := _EXPECTED.match(line)):
            expected = match.group(1).strip()
        elif ids and expected is not None and (match := _ACTUAL.match(line)):
            text = f"[{check}] expected {expected}, got {match.group(1).strip()}"
            for cid in ids:
                details.setdefault(cid, text[:200] + ("…" if len(text) > 200 else ""))
            ids = []
    return tuple(details.items())


def to_outcome(result: dict[str, Any], path: Path) -> TestOutcome:
    claims = _claims(result)
    message = (result.get("statusDetails") or {}).get("message") or ""
    vendor = next(iter(labels(result, LABEL_VENDOR)), "") or NO_VENDOR
    title = next(iter(labels(result, LABEL_EPIC)), "") or vendor
    return TestOutcome(
        history_id=str(result.get("historyId") or result.get("testCaseId") or result.get("fullName") or path.name),
        name=str(result.get("name") or path.name),
        full_name=str(result.get("fullName") or ""),
        status=str(result.get("status") or "unknown"),
        outcome=classify(result),
        vendor=vendor,
        vendor_title=title,
        claims=claims,
        message=_clean_message(message),
        start=int(result.get("start") or 0),
        stop=int(result.get("stop") or 0),
        path=path,
        details=finding_details(message),
        failed_claim_ids=tuple(dict.fromkeys(labels(result, LABEL_FAILED_CLAIM))),
    )


def load_outcomes(results_dirs: Path | Iterable[Path]) -> list[TestOutcome]:
    """Every test of the folders once: when a historyId repeats (retries), the last to stop wins."""
    dirs = [Path(results_dirs)] if isinstance(results_dirs, str | Path) else [Path(d) for d in results_dirs]
    latest: dict[str, TestOutcome] = {}
    for folder in dirs:
        if not folder.is_dir():
            raise ReportError(f"no test results in {folder}: the folder does not exist")
        for path in result_files(folder):
            outcome = to_outcome(read_result(path), path)
            kept = latest.get(outcome.history_id)
            if kept is None or (outcome.stop, outcome.start) >= (kept.stop, kept.start):
                latest[outcome.history_id] = outcome
    return sorted(latest.values(), key=lambda o: (o.vendor, o.full_name, o.name, o.history_id))
