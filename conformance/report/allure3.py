"""Allure 3 as pinned by the package's tool/package.json: installing it, configuring it, generating the report."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import importlib.resources
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from .claims import LABEL_TREND, previous_outcomes, trend, write_claim_results
from .conventions import (
    ASSUMPTION_MESSAGE_REGEX,
    INFRASTRUCTURE_MESSAGE_REGEX,
    LABEL_EPIC,
    LABEL_FEATURE,
    LABEL_OUTCOME,
    OUTCOME_WARNING,
)
from .errors import ReportError
from .history import default_history_path, plan, previous_entry, read_lines, tag_last_entry
from .results import load_outcomes, result_files

PACKAGE = "allure"
MIN_NODE_MAJOR = 20  # several of Allure 3's dependencies declare node >= 20
NODE_MISSING = f"Node.js {MIN_NODE_MAJOR}+ is needed to build the HTML report: install it or pass --no-html"
REPORT_NAME = "Authentication conformance"
CLAIMS_NAME = "Authentication conformance: claims"
# The claims view, one file beside index.html: vendor -> trend since the previous run -> claim.
CLAIMS_FILE = "claims.html"
# One history line holds every test of a run; 20 nightly runs keep the file in the low megabytes.
HISTORY_LIMIT = 20
INSTALL_TIMEOUT = 900
# Where the Allure tool is installed on first use: the per-user cache unless this variable names a folder.
CACHE_ENV = "CONFORMANCE_CACHE_DIR"
PIN_FILES = ("package.json", "package-lock.json")
GENERATE_TIMEOUT = 600

# First match wins, in this order; Allure appends its own defaults after these, but nothing reaches them.
CATEGORIES: list[dict[str, Any]] = [
    {
        "id": "vendor-non-conformance",
        "name": "Vendor non-conformance",
        "matchers": {"statuses": ["failed"]},
        "groupBy": [{"label": LABEL_EPIC}],
    },
    {
        "id": "assumption-not-met",
        "name": "Assumption not met",
        "matchers": [
            {"statuses": ["skipped"], "message": ASSUMPTION_MESSAGE_REGEX},
            {"statuses": ["skipped"], "labels": {LABEL_OUTCOME: f"^{OUTCOME_WARNING}$"}},
        ],
        "groupBy": [{"label": LABEL_EPIC}],
    },
    {
        "id": "infrastructure",
        "name": "Infrastructure",
        "matchers": {"statuses": ["broken"], "message": INFRASTRUCTURE_MESSAGE_REGEX},
        "groupBy": [{"label": LABEL_EPIC}],
    },
    {
        "id": "suite-error",
        "name": "Suite error",
        "matchers": {"statuses": ["broken", "unknown"]},
        "groupBy": [{"label": LABEL_EPIC}],
    },
]

# The awesome report always embeds an analytics tag; a conformance report opened offline has no use for it.
_ANALYTICS = re.compile(
    r'[ \t]*<script async src="https://[^"]*/gtag/js\?id=[^"]*"></script>\s*'
    r"<script>(?:(?!</script>).)*?gtag\((?:(?!</script>).)*?</script>\n?",
    re.S,
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# How the single-file report embeds each data file: d("<name>","<base64>")
_EMBEDDED = re.compile(r'\bd\("([^"]+)","([A-Za-z0-9+/=]*)"\)')


@dataclass(frozen=True)
class ReportStats:
    """Counts Allure itself reports for a generated report, and where the report and its history are."""

    total: int
    passed: int
    failed: int
    broken: int
    skipped: int
    unknown: int
    index_html: Path
    history_path: Path
    history_entries: int


def pin_files() -> dict[str, bytes]:
    """The package.json and package-lock.json that pin Allure, as shipped inside the package."""
    folder = importlib.resources.files("conformance.report") / "tool"
    try:
        return {name: (folder / name).read_bytes() for name in PIN_FILES}
    except OSError as exc:
        raise ReportError(f"the installed package lacks its Allure pin ({exc.filename or exc}): reinstall it") from None


def cache_dir() -> Path:
    """The per-user cache folder of the suite (CONFORMANCE_CACHE_DIR overrides it)."""
    return Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("auth-conformance", appauthor=False))


def tool_dir() -> Path:
    """The folder the pinned Allure is installed into: one per lock file in the per-user cache, pin files copied."""
    pins = pin_files()
    try:
        version = json.loads(pins["package.json"])["devDependencies"][PACKAGE]
    except (ValueError, KeyError, TypeError):
        raise ReportError("the package's tool/package.json pins no Allure version: reinstall it") from None
    digest = hashlib.sha256(pins["package-lock.json"]).hexdigest()[:12]
    root = cache_dir() / f"allure-{version}-{digest}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        for name, data in pins.items():
            target = root / name
            if not target.is_file() or target.read_bytes() != data:
                # Written whole then renamed: a parallel worker never sees half a lock file.
                partial = root / f".{name}.{os.getpid()}"
                partial.write_bytes(data)
                os.replace(partial, target)
    except OSError as exc:
        raise ReportError(
            f"cannot prepare the Allure tool folder {root}: {exc.strerror or exc} (set {CACHE_ENV} elsewhere)"
        ) from None
    return root


def _pinned_version(root: Path) -> str | None:
    try:
        manifest = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for section in ("devDependencies", "dependencies"):
        version = (manifest.get(section) or {}).get(PACKAGE)
        if version:
            return str(version)
    return None


def _installed_version(root: Path) -> str | None:
    try:
        return json.loads((root / "node_modules" / PACKAGE / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


def node_executable() -> str:
    """Path of a Node.js new enough for Allure 3; ReportError otherwise."""
    node = shutil.which("node")
    if not node:
        raise ReportError(NODE_MISSING)
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        raise ReportError(NODE_MISSING) from None
    match = re.match(r"v?(\d+)\.", version)
    if not match or int(match.group(1)) < MIN_NODE_MAJOR:
        raise ReportError(f"{NODE_MISSING} (found {version or 'an unknown version'})")
    return node


@contextlib.contextmanager
def _install_lock(root: Path) -> Iterator[None]:
    # Parallel test workers may all find node_modules missing; one `npm ci` must run, not several at once.
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"conformance-npm-{digest}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tail(text: str, lines: int = 2) -> str:
    """The last telling lines of a Node tool's output: no stack frames, caret marks or version footer."""
    kept = [
        ln.strip()
        for ln in _ANSI.sub("", text or "").splitlines()
        if ln.strip() and not re.match(r"\s*(at |\^+$|Node\.js v\d)", ln)
    ]
    return " | ".join(kept[-lines:]) or "no output"


def ensure_allure(tool_root: Path | None = None) -> Path:
    """The Allure CLI in node_modules, installed by `npm ci` from package-lock.json when missing or stale.

    tool_root defaults to the per-user cache folder (`tool_dir()`); any folder holding the pin files works.
    """
    root = Path(tool_root).resolve() if tool_root else tool_dir()
    pinned = _pinned_version(root)
    if pinned is None:
        raise ReportError(f"no package.json pinning Allure in {root}")
    node_executable()
    cli = root / "node_modules" / ".bin" / PACKAGE
    with _install_lock(root):
        installed = _installed_version(root)
        exact = re.fullmatch(r"\d+\.\d+\.\d+", pinned) is not None
        if cli.exists() and installed and (installed == pinned or not exact):
            return cli
        npm = shutil.which("npm")
        if not npm:
            raise ReportError(NODE_MISSING)
        if not (root / "package-lock.json").is_file():
            raise ReportError(f"no package-lock.json in {root}: the Allure install must come from the lock file")
        try:
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise ReportError(f"npm ci did not finish in {INSTALL_TIMEOUT} s in {root}") from None
        except OSError as exc:
            raise ReportError(f"npm ci could not start: {exc}") from None
        if proc.returncode != 0:
            raise ReportError(f"npm ci failed in {root}: {_tail(proc.stderr or proc.stdout)}")
        if not cli.exists():
            raise ReportError(f"npm ci finished but {cli} is missing")
    return cli


def allure_config(
    *,
    history_path: Path,
    history_limit: int = HISTORY_LIMIT,
    name: str = REPORT_NAME,
    group_by: list[str] | None = None,
) -> dict[str, Any]:
    """The Allure 3 configuration (allurerc.json shape) of the suite's report."""
    return {
        "name": name,
        "historyPath": str(history_path),
        "historyLimit": history_limit,
        # allure-pytest records the machine's host name and thread: noise in a shared report.
        "hideLabels": ["host", "thread"],
        "plugins": {
            "awesome": {
                "options": {
                    "singleFile": True,
                    "reportName": name,
                    "reportLanguage": "en",
                    # vendor -> capability -> test: each test once, so the tree counts what summary.md counts
                    # (grouping by claim listed a test under each of its claims); claims.html has the claims.
                    "groupBy": group_by or [LABEL_EPIC, LABEL_FEATURE],
                }
            }
        },
        "categories": CATEGORIES,
    }


def _prepare_output(report_dir: Path, results_dir: Path, history_path: Path, tool_root: Path) -> Path:
    """Empty the output folder (Allure 3 never does), after making sure it is not something else."""
    out = report_dir.resolve()
    results = results_dir.resolve()
    if out in {Path.home().resolve(), Path(out.anchor), Path.cwd().resolve()} or tool_root.resolve().is_relative_to(
        out
    ):
        raise ReportError(f"refusing to use {report_dir} as the report folder: it is cleaned on every build")
    if results.is_relative_to(out) or out.is_relative_to(results):
        raise ReportError(f"the report folder {report_dir} and the results folder {results_dir} must not nest")
    if history_path.resolve().is_relative_to(out):
        raise ReportError(f"the history file {history_path} must live outside the report folder {report_dir}")
    if out.exists():
        if not out.is_dir():
            raise ReportError(f"the report folder {report_dir} is a file")
        if any(out.iterdir()) and not ((out / "index.html").exists() or (out / "summary.json").exists()):
            raise ReportError(f"refusing to clean {report_dir}: it holds files but no Allure report")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return out


def strip_analytics(index_html: Path) -> bool:
    """Remove the analytics tag from a generated report; True if there was one."""
    html = index_html.read_text(encoding="utf-8")
    stripped, n = _ANALYTICS.subn("", html, count=1)
    if n:
        index_html.write_text(stripped, encoding="utf-8")
    return bool(n)


_LINK_STYLE = (
    "position:fixed;right:16px;bottom:16px;z-index:10000;padding:8px 12px;border-radius:6px;"
    "background:#1f6feb;color:#fff;font:600 13px sans-serif;text-decoration:none;box-shadow:0 2px 6px #0004"
)


def add_link(index_html: Path, href: str, text: str, link_id: str) -> None:
    """A fixed link between the report and its claims view (both files sit in one folder, so it works offline)."""
    html = index_html.read_text(encoding="utf-8")
    if f'id="{link_id}"' in html or "</body>" not in html:
        return
    link = f'<a id="{link_id}" href="{href}" style="{_LINK_STYLE}">{text}</a>'
    head, tail = html.rsplit("</body>", 1)
    index_html.write_text(head + link + "</body>" + tail, encoding="utf-8")


def report_data(index_html: Path) -> dict[str, bytes]:
    """The data files a single-file report embeds (widgets/*.json, data/test-results/*.json, attachments)."""
    files: dict[str, bytes] = {}
    for name, payload in _EMBEDDED.findall(Path(index_html).read_text(encoding="utf-8")):
        try:
            files[name] = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            continue
    return files


def _read_stats(out: Path) -> dict[str, int]:
    try:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        stats = summary["stats"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ReportError(f"Allure wrote no readable summary.json in {out}") from None
    return {k: int(stats.get(k) or 0) for k in ("total", "passed", "failed", "broken", "skipped", "unknown")}


def _generate(node: str, cli: Path, results_dir: Path, out: Path, config: dict[str, Any], env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="allurerc-") as tmp:
        path = Path(tmp) / "allurerc.json"
        path.write_text(json.dumps(config))
        # Run inside the results folder and name it ".": Allure globs its results arguments, and a real path
        # may hold glob characters.
        cmd = [node, str(cli.resolve()), "generate", ".", "--config", str(path), "--output", str(out)]
        try:
            proc = subprocess.run(
                cmd, cwd=results_dir, env=env, capture_output=True, text=True, timeout=GENERATE_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            raise ReportError(f"allure generate did not finish in {GENERATE_TIMEOUT} s") from None
        except OSError as exc:
            raise ReportError(f"allure generate could not start: {exc}") from None
    if proc.returncode != 0:
        reason = _tail(proc.stderr or proc.stdout)
        history = Path(config["historyPath"])
        if "JSON" in reason and history.exists():
            reason += f" (a damaged history file? move {history} away and build again)"
        raise ReportError(f"allure generate failed: {reason}")


def build_report(
    results_dir: Path,
    report_dir: Path,
    *,
    history_path: Path | None = None,
    tool_root: Path | None = None,
    history_limit: int = HISTORY_LIMIT,
    name: str = REPORT_NAME,
) -> ReportStats:
    """Generate the single-file HTML report of an allure-results folder (and its claims view) and check it.

    history_path defaults to history/<target>/history.jsonl beside the report folder; keep that file between
    runs for the trend chart and per-test history. A run adds one entry: rebuilding a report from the same
    results reads the history before that run and leaves the file as it is.
    """
    results_dir, report_dir = Path(results_dir), Path(report_dir)
    if not results_dir.is_dir() or not result_files(results_dir):
        raise ReportError(f"no test results in {results_dir}: run the suite first, or point --results at its output")
    root = Path(tool_root).resolve() if tool_root else tool_dir()
    history = (
        Path(history_path)
        if history_path
        else default_history_path(report_dir.resolve().parent / "history", results_dir)
    )
    cli = ensure_allure(root)
    node = node_executable()
    out = _prepare_output(report_dir, results_dir, history, root)
    history = history.resolve()
    history.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ALLURE_NO_ANALYTICS": "true", "NO_COLOR": "1", "FORCE_COLOR": "0"}
    use = plan(history, results_dir)
    changes = trend(load_outcomes(results_dir), previous_outcomes(previous_entry(history, results_dir)))
    with tempfile.TemporaryDirectory(prefix="conformance-report-") as tmp:
        work = Path(tmp)
        used_history = history
        if use.rebuild:
            # This run is in the history already: build against what came before it, and keep the file.
            used_history = work / "history.jsonl"
            used_history.write_text("".join(line + "\n" for line in use.prior), encoding="utf-8")
        config = allure_config(history_path=used_history, history_limit=history_limit, name=name)
        _generate(node, cli, results_dir, out, config, env)
        # Tag the line Allure appended (only if it appended one: never relabel an earlier run's line).
        if not use.rebuild and read_lines(history)[-1:] != use.lines[-1:]:
            tag_last_entry(history, use.key)
        index = out / "index.html"
        if not index.is_file():
            raise ReportError(f"allure generate wrote no {index}")
        stats = _read_stats(out)
        if stats["total"] == 0:
            raise ReportError(f"no test results in {results_dir}: Allure found none it could read")
        strip_analytics(index)
        claims_results, claims_out = work / "claims-results", work / "claims-report"
        if write_claim_results(changes, claims_results):
            claims_config = allure_config(
                history_path=work / "claims-history.jsonl",
                history_limit=1,
                name=CLAIMS_NAME,
                group_by=[LABEL_EPIC, LABEL_TREND],
            )
            _generate(node, cli, claims_results, claims_out, claims_config, env)
            strip_analytics(claims_out / "index.html")
            add_link(claims_out / "index.html", "index.html", "← Tests", "conformance-tests-link")
            shutil.copyfile(claims_out / "index.html", out / CLAIMS_FILE)
            add_link(index, CLAIMS_FILE, "Claims and what changed since the previous run →", "conformance-claims-link")
    entries = len(read_lines(history))
    return ReportStats(**stats, index_html=index, history_path=history, history_entries=entries)
