"""The run history (Allure 3's history.jsonl): one entry per suite run, one file per target, read for trends.

Allure appends a line to its history file on every `allure generate`, so building a report twice from the same
results would count the run twice, and runs against the mock and a sandbox would share one history (a fault on
one target and a fix on the other then read as "flaky"). Each line the suite keeps is therefore tagged with the
run it came from (a digest of its result files' uuids); a rebuild is generated against the history before that
run and leaves the file alone. The default file is per target (history/<target>/history.jsonl).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .environment import ENVIRONMENT_FILE, read_properties
from .results import read_result, result_files

RUN_KEY = "conformanceRun"
HISTORY_FILE = "history.jsonl"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


def run_key(results_dir: Path) -> str:
    """Identity of one suite run: its results' uuids (a rebuild has the same ones, a new run new ones)."""
    uuids = sorted(str(read_result(p).get("uuid") or p.name) for p in result_files(results_dir))
    return hashlib.sha256("\n".join(uuids).encode()).hexdigest()[:32]


def target_of(results_dir: Path) -> str:
    """The target a results folder was run against, as a file-name-safe key ("unknown" when not recorded)."""
    props = read_properties(Path(results_dir) / ENVIRONMENT_FILE)
    target = props.get("history_key") or props.get("target") or "unknown"
    return _UNSAFE.sub("_", target).strip("._") or "unknown"


def default_history_path(history_root: Path, results_dir: Path) -> Path:
    return Path(history_root) / target_of(results_dir) / HISTORY_FILE


def read_lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _entry(line: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class HistoryPlan:
    """How one build uses the history file."""

    lines: list[str]  # the file as it is
    prior: list[str]  # entries before this run: what Allure reads for this build
    key: str
    rebuild: bool  # this run is in the file already: leave the file alone


def plan(path: Path, results_dir: Path) -> HistoryPlan:
    lines = read_lines(path)
    key = run_key(results_dir)
    for i, line in enumerate(lines):
        if _entry(line).get(RUN_KEY) == key:
            return HistoryPlan(lines=lines, prior=lines[:i], key=key, rebuild=True)
    return HistoryPlan(lines=lines, prior=lines, key=key, rebuild=False)


def tag_last_entry(path: Path, key: str) -> None:
    """Mark the line Allure just appended as this run's."""
    lines = read_lines(path)
    if not lines:
        return
    last = _entry(lines[-1])
    if not last:
        return
    last[RUN_KEY] = key
    lines[-1] = json.dumps(last, ensure_ascii=False, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def previous_entry(path: Path | None, results_dir: Path) -> dict[str, Any] | None:
    """The last history entry of a run before this one (for the trend), or None."""
    if path is None:
        return None
    prior = plan(Path(path), results_dir).prior
    return _entry(prior[-1]) if prior else None
