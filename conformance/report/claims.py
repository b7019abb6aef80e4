"""Per-claim verdicts and the trend since the previous run: the claims view of the report and of summary.md.

A test checks several claims and is listed once; a claim is checked by several tests. A claim's verdict is
decided by the tests that check it: failed only when a test names it as contradicted (not when it merely
shares a failed test with a claim that was), warning likewise, broken when a test that would have checked it
could not run, passed when every test that checked it held. The trend compares these verdicts (and the
tests' outcomes) with the previous run's history entry of the same target.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .conventions import LABEL_CLAIM, LABEL_EPIC, LABEL_OUTCOME, LABEL_VENDOR, OUTCOME_WARNING
from .results import Claim, TestOutcome, to_outcome

LABEL_TREND = "trend"
NEW_FAILURE, FIXED, STILL_FAILING, UNCHANGED, FIRST_RUN = (
    "new failure",
    "fixed",
    "still failing",
    "unchanged",
    "first run",
)
_ORDER = ("failed", "warning", "broken", "passed", "skipped")
_ALLURE_STATUS = {
    "failed": "failed",
    "warning": "skipped",
    "broken": "broken",
    "passed": "passed",
    "skipped": "skipped",
}


@dataclass
class ClaimVerdict:
    """One claim of one vendor, judged by every test that checks it."""

    vendor: str
    vendor_title: str
    claim: Claim
    outcome: str = "skipped"
    tests: list[tuple[str, str]] = field(default_factory=list)  # (test name, what it says about this claim)
    detail: str = ""
    trend: str = FIRST_RUN


def _per_claim(test: TestOutcome, claim: Claim) -> str:
    if test.outcome in ("failed", "warning"):
        named = {c.id for c in test.failing_claims()}
        return test.outcome if claim.id in named else "passed"
    return test.outcome


def verdicts(outcomes: Iterable[TestOutcome]) -> dict[tuple[str, str], ClaimVerdict]:
    found: dict[tuple[str, str], ClaimVerdict] = {}
    for test in outcomes:
        for claim in test.claims:
            key = (test.vendor, claim.id)
            v = found.setdefault(key, ClaimVerdict(test.vendor, test.vendor_title, claim))
            if not v.claim.title and claim.title:
                v.claim = claim
            said = _per_claim(test, claim)
            v.tests.append((test.name, said))
            if _ORDER.index(said) < _ORDER.index(v.outcome):
                v.outcome = said
                v.detail = test.detail(claim.id) or (test.message if said in ("failed", "warning", "broken") else "")
    return found


def previous_outcomes(entry: dict[str, Any] | None) -> list[TestOutcome] | None:
    """The tests of a history entry (Allure keeps their status and labels), as outcomes."""
    if not entry:
        return None
    tests = entry.get("testResults") or {}
    return [
        to_outcome({**result, "historyId": hid}, Path(str(result.get("name") or hid)))
        for hid, result in tests.items()
        if isinstance(result, dict)
    ]


def _trend(now: str, before: str | None) -> str:
    if before is None:
        return NEW_FAILURE if now == "failed" else FIRST_RUN
    if now == "failed":
        return STILL_FAILING if before == "failed" else NEW_FAILURE
    if before == "failed" and now == "passed":
        return FIXED
    return UNCHANGED


@dataclass
class Trend:
    """What changed since the previous run, per vendor and per claim."""

    has_previous: bool
    claims: dict[tuple[str, str], ClaimVerdict]
    fixed_gone: list[ClaimVerdict]  # failed before and not checked this time: said, not hidden
    tests: dict[str, dict[str, int]]  # vendor -> new failure/fixed/still failing counts of tests

    def vendor_counts(self, vendor: str) -> dict[str, int]:
        counts = dict.fromkeys((NEW_FAILURE, FIXED, STILL_FAILING), 0)
        for v in self.claims.values():
            if v.vendor == vendor and v.trend in counts:
                counts[v.trend] += 1
        return counts


def trend(outcomes: list[TestOutcome], previous: list[TestOutcome] | None) -> Trend:
    now = verdicts(outcomes)
    before = verdicts(previous) if previous is not None else {}
    for key, v in now.items():
        prev = before.get(key)
        v.trend = _trend(v.outcome, prev.outcome if prev else None) if previous is not None else FIRST_RUN
    gone = [v for key, v in before.items() if key not in now and v.outcome == "failed"]
    tests: dict[str, dict[str, int]] = {}
    if previous is not None:
        prev_status = {t.history_id: t.outcome for t in previous}
        for t in outcomes:
            row = tests.setdefault(t.vendor, dict.fromkeys((NEW_FAILURE, FIXED, STILL_FAILING), 0))
            kind = _trend(t.outcome, prev_status.get(t.history_id))
            if kind in row:
                row[kind] += 1
    return Trend(has_previous=previous is not None, claims=now, fixed_gone=gone, tests=tests)


def _id(*parts: str) -> str:
    return hashlib.md5("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()


def write_claim_results(t: Trend, out_dir: Path) -> int:
    """One Allure result per (vendor, claim), its status the claim's verdict; for the claims view of the report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for (vendor, cid), v in sorted(t.claims.items()):
        lines = [f"**{cid}** {v.claim.title}", "", f"Verdict: **{v.outcome}** · since the previous run: **{v.trend}**"]
        lines += ["", "Checked by:", ""] + [f"- `{name}`: {said}" for name, said in v.tests]
        labels = [
            {"name": LABEL_EPIC, "value": v.vendor_title},
            {"name": LABEL_VENDOR, "value": vendor},
            {"name": LABEL_CLAIM, "value": cid},
            {"name": LABEL_TREND, "value": v.trend},
        ]
        if v.outcome == OUTCOME_WARNING:
            labels.append({"name": LABEL_OUTCOME, "value": OUTCOME_WARNING})
        result = {
            "uuid": str(uuid.uuid4()),
            "historyId": _id("claim", vendor, cid),
            "testCaseId": _id("claim", vendor, cid),
            "fullName": f"claims.{vendor}.{cid}",
            "name": f"{cid} {v.claim.title}".strip(),
            "status": _ALLURE_STATUS[v.outcome],
            "statusDetails": {"message": v.detail} if v.detail else {},
            "stage": "finished",
            "description": "\n".join(lines),
            "labels": labels,
            "parameters": [],
            "links": [],
            "start": 0,
            "stop": 0,
        }
        (out_dir / f"{result['uuid']}-result.json").write_text(json.dumps(result), encoding="utf-8")
    return len(t.claims)
