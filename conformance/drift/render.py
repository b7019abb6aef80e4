"""drift.md for people and drift.json for machines, both scrubbed of anything credential-shaped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance import specs
from conformance.drift.compare import KINDS, RUN, Change, DriftResult
from conformance.drift.scrub import scrub, scrub_text

FORMAT = "conformance-drift/1"
MD_FILE, JSON_FILE = "drift.md", "drift.json"

LABELS = {
    "new-failure": "❌ new failure",
    "fixed": "✅ fixed",
    "deviation-gone": "⚠️ known deviation no longer happening",
    "failure-changed": "❌ failure changed",
    "field-added": "🧩 field added",
    "field-removed": "🧩 field removed",
    "field-type-changed": "🧩 field type changed",
    "field-presence-changed": "🧩 field presence changed",
    "response-added": "🧩 new response",
    "response-gone": "🧩 response no longer seen",
    "header-changed": "🏷️ header changed",
    "lifetime-changed": "⏱️ lifetime changed",
    "vendor-unreachable": "🔌 vendor unreachable",
    "infrastructure": "🔌 infrastructure",
    "not-compared": "not compared",
    "now-known-deviation": "now a known deviation",
    "claim-untested": "claim not tested this run",
    "claim-newly-tested": "claim newly tested",
    "response-not-observed": "response not observed this run",
    "response-newly-observed": "response newly observed (the baseline had broken tests)",
    "lifetime-not-observed": "lifetime not observed this run",
    "spec-changed": "spec changed",
    "suite-changed": "suite changed",
}
assert set(LABELS) == set(KINDS)


def _claim_title(claim: str) -> str:
    try:
        c = specs.claim_index().get(claim)
    except specs.SpecError:
        return ""
    return c.title if c else ""


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return scrub_text(text).replace("|", "\\|").replace("\n", " ")


def _subject(change: Change) -> str:
    title = (
        _claim_title(change.subject)
        if change.kind
        in (
            "new-failure",
            "fixed",
            "deviation-gone",
            "failure-changed",
            "now-known-deviation",
            "claim-untested",
            "claim-newly-tested",
        )
        else ""
    )
    return f"{change.subject} {title}".strip()


def _row(change: Change) -> str:
    after = change.after if not change.detail else f"{'' if change.after is None else change.after} ({change.detail})"
    cells = [LABELS[change.kind], _subject(change), change.field, change.before, after]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _table(changes: list[Change]) -> list[str]:
    return ["| Change | What | Where | Before | After |", "|---|---|---|---|---|", *(_row(c) for c in changes)]


def _note(ch: Change) -> str:
    who = "all vendors" if ch.vendor == RUN else ch.vendor
    what = " ".join(x for x in (_subject(ch), ch.field) if x and x != ch.vendor)
    span = " → ".join(str(x) for x in (ch.before, ch.after) if x not in (None, ""))
    text = f"{who}: {LABELS[ch.kind]}" + (f": {what}" if what else "") + (f" ({span})" if span else "")
    return "- " + _cell(text + (f" — {ch.detail}" if ch.detail else ""))


def markdown(result: DriftResult, baseline_source: str = "") -> str:
    """The report a person reads (CI step summary, chat link): drift first, then notes, per vendor."""
    drift = result.drift
    vendors = result.drift_vendors()
    title = f"{len(drift)} change(s) in {', '.join(vendors)}" if drift else "none"
    lines = [f"# Vendor drift: {title}"]
    b, c = result.baseline, result.current
    lines += [
        "",
        f"Baseline: {_cell(baseline_source) or 'given'} (suite {_cell(b.get('suite_version'))}, target "
        f"{_cell(b.get('target'))}) · this run: suite {_cell(c.get('suite_version'))}, target {_cell(c.get('target'))}",
        "",
    ]
    every = sorted({ch.vendor for ch in result.changes if ch.vendor != RUN} | set(result.status))
    if every:
        lines += ["| Vendor | This run | Drift | Notes |", "|---|---|---:|---:|"]
        for v in every:
            n_drift = sum(1 for ch in drift if ch.vendor == v)
            n_notes = sum(1 for ch in result.notes if ch.vendor == v)
            lines.append(f"| {_cell(v)} | {_cell(result.status.get(v, 'not run'))} | {n_drift} | {n_notes} |")
        lines.append("")
    for v in every:
        mine = [ch for ch in drift if ch.vendor == v]
        if mine:
            lines += [f"## {v}: {len(mine)} change(s)", "", *_table(mine), ""]
    notes = result.notes
    if notes:
        lines += ["## Notes (not drift)", ""]
        lines += [_note(ch) for ch in notes]
        lines.append("")
    if drift:
        lines += [
            "Exit code 4. If the vendor changed on purpose, accept this run as the new baseline with "
            "`conformance drift --accept`; otherwise report it to the vendor.",
            "",
        ]
    return "\n".join(lines)


def to_json(result: DriftResult, baseline_source: str = "") -> dict[str, Any]:
    """The report a machine reads: the same changes, with kinds, before/after values and a drift flag each."""
    vendors = {}
    for v in sorted({ch.vendor for ch in result.changes if ch.vendor != RUN} | set(result.status)):
        vendors[v] = {
            "status": result.status.get(v, "not run"),
            "drift": sum(1 for ch in result.drift if ch.vendor == v),
            "notes": sum(1 for ch in result.notes if ch.vendor == v),
        }
    return scrub(
        {
            "format": FORMAT,
            "drift": result.has_drift,
            "baseline": {**result.baseline, "source": baseline_source},
            "current": result.current,
            "counts": result.counts(),
            "vendors": vendors,
            "changes": [ch.to_json() for ch in result.changes],
        }
    )


def write(result: DriftResult, reports: Path, baseline_source: str = "") -> tuple[Path, Path]:
    reports = Path(reports)
    reports.mkdir(parents=True, exist_ok=True)
    md, js = reports / MD_FILE, reports / JSON_FILE
    md.write_text(markdown(result, baseline_source), encoding="utf-8")
    js.write_text(json.dumps(to_json(result, baseline_source), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return md, js
