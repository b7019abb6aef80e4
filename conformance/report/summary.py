"""summary.md: per-vendor counts, one line per failing, warning or broken claim; for CI summaries and chat."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .claims import FIXED, NEW_FAILURE, STILL_FAILING, Trend, previous_outcomes, trend
from .conventions import ASSUMPTION_PREFIX, INFRASTRUCTURE_PREFIX, OUTCOMES
from .environment import read_properties
from .errors import ReportError
from .history import previous_entry
from .results import TestOutcome, load_outcomes

ICONS = {"failed": "❌", "warning": "⚠️", "broken": "🔧"}
# A CI step summary or a chat message stays readable; the HTML report has the rest.
MAX_FINDINGS = 100

_ASSUMPTION_LEAD = re.compile(rf"^{ASSUMPTION_PREFIX}\s*(?:\(warning\))?\s*[:\-—]?\s*")


def count(outcomes: Iterable[TestOutcome]) -> dict[str, Any]:
    """Totals and per-vendor counts of the five outcomes."""
    outcomes = list(outcomes)
    totals = Counter(o.outcome for o in outcomes)
    by_vendor: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        row = by_vendor.setdefault(o.vendor, {"title": o.vendor_title, **dict.fromkeys(OUTCOMES, 0), "total": 0})
        row[o.outcome] += 1
        row["total"] += 1
    return {**{k: totals.get(k, 0) for k in OUTCOMES}, "total": len(outcomes), "by_vendor": by_vendor}


CONFIG_PREFIX = "CONFIGURATION: "


def _config_lines(outcomes: list[TestOutcome]) -> list[str]:
    """One line per stopped vendor (rejected credentials, missing probe): its cause, and how many tests it stopped."""
    causes: Counter[str] = Counter()
    for o in outcomes:
        at = o.message.find(CONFIG_PREFIX)
        if at >= 0:
            causes[o.message[at + len(CONFIG_PREFIX) :]] += 1
    return [f"- ⚙️ {cause} ({n} tests not judged)" for cause, n in sorted(causes.items())]


def _suite_error_line(outcomes: list[TestOutcome]) -> str | None:
    """Tests that errored inside the suite itself (neither the vendor's answer nor its infrastructure): exit 5."""
    errors = [
        o
        for o in outcomes
        if o.outcome == "broken" and not o.message.startswith((INFRASTRUCTURE_PREFIX, CONFIG_PREFIX.strip()))
    ]
    if not errors:
        return None
    return (
        f"- 🐞 {len(errors)} test(s) hit a suite error (a defect of the suite, not the vendor; exit code 5): "
        f"first `{errors[0].name}` — {errors[0].message or errors[0].status}"
    )


def verdict(counts: dict[str, Any]) -> str:
    if counts.get("config"):
        return "configuration error, no verdict on the vendor(s) concerned"
    if counts["failed"]:
        return "non-conformance found"
    if counts["broken"]:
        return "infrastructure or suite problems, no non-conformance"
    if counts["warning"]:
        return "conformant, with warnings"
    return "conformant"


def _short_message(message: str, claim_ids: Iterable[str]) -> str:
    """The message without what the line already says: the assumption marker and leading claim IDs."""
    text = _ASSUMPTION_LEAD.sub("", message, count=1)
    ids = sorted(set(claim_ids), key=len, reverse=True)
    if ids:
        lead = re.compile(rf"^(?:(?:{'|'.join(map(re.escape, ids))})(?![\w.-])[\s,;]*)+[:\-—]?\s*")
        stripped = lead.sub("", text, count=1)
        text = stripped or text
    return " ".join(text.split())


def _findings(outcomes: list[TestOutcome]) -> dict[str, list[str]]:
    """Lines per vendor in the order failed, warning, broken.

    Failed and warning tests give one line per claim they contradicted. Broken tests (outages, suite errors)
    say nothing about claims: identical messages make one line with a count, so an unreachable vendor is one
    line, not one per test.
    """
    grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
    for o in outcomes:
        if o.outcome not in ICONS or CONFIG_PREFIX in o.message:
            continue
        if o.outcome == "broken":
            message = _short_message(o.message, [c.id for c in o.claims]) or f"({o.status}, no message)"
            entry = grouped.setdefault((o.vendor, o.outcome, message), {"claim": None, "test": o, "tests": 0})
            entry["tests"] += 1
            entry["message"] = message
            continue
        for claim in o.failing_claims() or (None,):
            key = (o.vendor, o.outcome, claim.id if claim else o.message or o.name)
            entry = grouped.setdefault(key, {"claim": claim, "test": o, "tests": 0})
            entry["tests"] += 1
    order = {name: i for i, name in enumerate(ICONS)}
    lines: dict[str, list[str]] = {}
    for (vendor, outcome, _), entry in sorted(grouped.items(), key=lambda kv: (kv[0][0], order[kv[0][1]], kv[0][2])):
        claim, test = entry["claim"], entry["test"]
        more = f" ({entry['tests']} tests)" if entry["tests"] > 1 else ""
        if "message" in entry:
            if entry["tests"] > 1:
                head = f"{entry['tests']} tests"
            else:
                head = ", ".join(f"{c.id} {c.title}".strip() for c in test.claims) or f"`{test.name}`"
            lines.setdefault(vendor, []).append(f"- {ICONS[outcome]} {head} — {entry['message']}")
            continue
        head = f"{claim.id} {claim.title}".strip() if claim else f"`{test.name}`"
        message = (
            (claim and test.detail(claim.id))
            or _short_message(test.message, [c.id for c in test.claims])
            or f"({test.status}, no message)"
        )
        lines.setdefault(vendor, []).append(f"- {ICONS[outcome]} {head} — {message}{more}")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


TREND_ICONS = {NEW_FAILURE: "🆕", FIXED: "✅", STILL_FAILING: "❌"}


def _trend_section(t: Trend, vendors: dict[str, dict[str, Any]]) -> list[str]:
    """Per vendor and per claim: new failures, fixed, still failing since the previous run of this target."""
    parts = ["", "## Since the previous run", ""]
    if not t.has_previous:
        return [*parts, "First run of this target in the history: nothing to compare with yet."]
    parts.append("| Vendor | New failures | Fixed | Still failing |")
    parts.append("|---|---:|---:|---:|")
    for key in sorted(vendors, key=lambda k: (vendors[k]["title"].lower(), k)):
        c = t.vendor_counts(key)
        parts.append(f"| {_cell(vendors[key]['title'])} | {c[NEW_FAILURE]} | {c[FIXED]} | {c[STILL_FAILING]} |")
    parts.append("")
    parts.append("Counted in claims; a claim fails only when a test names it as contradicted.")
    changed = [v for v in t.claims.values() if v.trend in TREND_ICONS]
    order = list(TREND_ICONS)
    if changed:
        parts.append("")
        for v in sorted(changed, key=lambda v: (v.vendor_title.lower(), order.index(v.trend), v.claim.id)):
            head = f"{v.claim.id} {v.claim.title}".strip()
            parts.append(f"- {TREND_ICONS[v.trend]} {v.vendor_title}: {head} — {v.trend}")
    for v in t.fixed_gone:
        parts.append(f"- ❔ {v.vendor_title}: {v.claim.id} {v.claim.title} — failed before, not checked in this run")
    if not changed and not t.fixed_gone:
        parts += ["", "No claim changed its verdict."]
    return parts


def render_summary(outcomes: list[TestOutcome], *, target: str | None = None, changes: Trend | None = None) -> str:
    counts = count(outcomes)
    config = _config_lines(outcomes)
    parts = [f"# Authentication conformance: {verdict({**counts, 'config': len(config)})}", ""]
    vendors = counts["by_vendor"]
    tally = ", ".join(f"{counts[k]} {k}" for k in OUTCOMES)
    where = f"Target `{target}` · " if target else ""
    parts += [f"{where}{len(vendors)} vendor(s) · {counts['total']} tests: {tally}", ""]
    parts.append("| Vendor | " + " | ".join(k.capitalize() for k in OUTCOMES) + " | Total |")
    parts.append("|---|" + "---:|" * (len(OUTCOMES) + 1))
    for key in sorted(vendors, key=lambda k: (vendors[k]["title"].lower(), k)):
        row = vendors[key]
        parts.append(f"| {_cell(row['title'])} | " + " | ".join(str(row[k]) for k in OUTCOMES) + f" | {row['total']} |")
    parts.append("| **Total** | " + " | ".join(f"**{counts[k]}**" for k in OUTCOMES) + f" | **{counts['total']}** |")
    if config:
        parts += ["", "## Configuration", "", *config]
    suite_error = _suite_error_line(outcomes)
    if suite_error:
        parts += ["", "## Suite errors", "", suite_error]
    findings = _findings(outcomes)
    if findings:
        parts += [
            "",
            "## Findings",
            "",
            "❌ vendor non-conformance · ⚠️ assumption not met · 🔧 infrastructure or suite error",
        ]
        shown = 0
        total = sum(len(v) for v in findings.values())
        for key in sorted(findings, key=lambda k: (vendors[k]["title"].lower(), k)):
            if shown >= MAX_FINDINGS:
                break
            parts += ["", f"### {vendors[key]['title']}", ""]
            for line in findings[key][: MAX_FINDINGS - shown]:
                parts.append(line)
                shown += 1
        if total > shown:
            parts += ["", f"… and {total - shown} more: see the HTML report."]
    if changes is not None:
        parts += _trend_section(changes, vendors)
    return "\n".join(parts) + "\n"


def write_summary(results_dir: Path, out_path: Path, *, history_path: Path | None = None) -> dict[str, Any]:
    """Write summary.md from an allure-results folder (one job's or several merged) and return the counts.

    With history_path (the report's history.jsonl), it also says what changed since the previous run.
    """
    results_dir, out_path = Path(results_dir), Path(out_path)
    outcomes = load_outcomes(results_dir)
    if not outcomes:
        raise ReportError(f"no test results in {results_dir}: run the suite first, or point --results at its output")
    target = read_properties(results_dir / "environment.properties").get("target")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    changes = None
    if history_path is not None:
        changes = trend(outcomes, previous_outcomes(previous_entry(Path(history_path), results_dir)))
    out_path.write_text(render_summary(outcomes, target=target, changes=changes), encoding="utf-8")
    return count(outcomes)
