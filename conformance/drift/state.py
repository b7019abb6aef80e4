"""Consecutive unreachable runs per vendor, in a small file next to the baseline, so an outage alerts once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FILENAME = "drift-state.json"
FORMAT = "conformance-drift-state/1"
DEFAULT_THRESHOLD = 3


def path_for(baseline: Path) -> Path:
    """The state file of a baseline: beside it, so whatever keeps the baseline (a cache, a repo) keeps it too."""
    return Path(baseline).parent / FILENAME


def load(path: Path) -> dict[str, Any]:
    """The saved state, or a fresh one when the file is missing or unreadable (losing it only delays an alert)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"format": FORMAT, "vendors": {}}
    if not isinstance(data, dict) or not isinstance(data.get("vendors"), dict):
        return {"format": FORMAT, "vendors": {}}
    return data


def save(path: Path, state: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def record_run(
    state: dict[str, Any], status: dict[str, str], threshold: int = DEFAULT_THRESHOLD
) -> list[tuple[str, int]]:
    """Count this run in; return (vendor, consecutive unreachable runs) for each vendor that should alert now.

    A vendor alerts once when it reaches `threshold` consecutive unreachable runs, and again only after a run
    in which it answered. Vendors not in this run keep their count.
    """
    due = []
    vendors = state.setdefault("vendors", {})
    for vendor, run_status in sorted(status.items()):
        entry = vendors.setdefault(vendor, {"consecutive_unreachable": 0, "alerted": False})
        if run_status == "unreachable":
            entry["consecutive_unreachable"] = int(entry.get("consecutive_unreachable", 0)) + 1
            if entry["consecutive_unreachable"] >= threshold and not entry.get("alerted"):
                entry["alerted"] = True
                due.append((vendor, entry["consecutive_unreachable"]))
        else:
            entry["consecutive_unreachable"] = 0
            entry["alerted"] = False
    return due
