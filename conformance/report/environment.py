"""Run metadata for the report (environment.properties, executor.json), credential-like values withheld."""

from __future__ import annotations

import json
import os
import platform
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .conventions import JOB_ENV

ENVIRONMENT_FILE = "environment.properties"
EXECUTOR_FILE = "executor.json"
REDACTED = "[withheld: looked like a credential]"

# Shapes of well-known credentials; a report is shared more widely than CI secrets are.
_SECRET_SHAPES = [
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),  # JWT header.payload
    re.compile(r"(?i)\b(?:bearer|basic|token|apikey|api-key)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(?:pass(?:word|wd)?|secret|token|api[_-]?key|client[_-]?secret|credential)s?\s*[=:]\s*\S+"),
    re.compile(r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{8,}"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
]
# Long random-looking runs (mixed case, several digits): hex digests, UUIDs and URL paths do not match.
_RANDOM_RUN = re.compile(r"[A-Za-z0-9_-]{32,}")
_SECRET_ENV_NAME = re.compile(r"(?i)(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|CREDENTIAL|PRIVATE_KEY|AUTH)")
_HEX_DIGEST = re.compile(r"^(?:[a-z0-9]+:)?[0-9a-f]{8,128}$")
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _random_looking(run: str) -> bool:
    return bool(re.search(r"[a-z]", run) and re.search(r"[A-Z]", run) and len(re.findall(r"\d", run)) >= 3)


def secret_env_values() -> list[str]:
    """Values of secret-named environment variables (read the environment once per document, not per string)."""
    return [v for k, v in os.environ.items() if _SECRET_ENV_NAME.search(k) and len(v) >= 8]


def looks_like_secret(value: str, env_secrets: list[str] | None = None) -> bool:
    """True when a value has the shape of a credential or holds the value of a secret-named env variable."""
    if any(p.search(value) for p in _SECRET_SHAPES):
        return True
    if any(_random_looking(m.group(0)) for m in _RANDOM_RUN.finditer(value)):
        return True
    return any(secret in value for secret in (secret_env_values() if env_secrets is None else env_secrets))


def sanitize_url(url: str) -> str:
    """Scheme, host, port and path only: user info, query and fragment are where credentials hide in URLs."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return url.strip()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _safe(key: str, value: str) -> str:
    value = " ".join(str(value).split())
    if looks_like_secret(value):
        warnings.warn(f"report metadata {key!r} withheld: it looked like a credential", stacklevel=3)
        return REDACTED
    return value


def _escape(text: str, *, key: bool) -> str:
    out = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    if key:
        out = re.sub(r"([=: #!])", r"\\\1", out)
    elif out.startswith(" "):
        out = "\\" + out
    return out


def write_properties(path: Path, properties: Mapping[str, str]) -> None:
    lines = [f"{_escape(k, key=True)}={_escape(v, key=False)}" for k, v in properties.items()]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_properties(path: Path) -> dict[str, str]:
    """The key=value pairs of a properties file this module wrote (or a simple one); {} when absent."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    result: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        match = re.match(r"((?:\\.|[^=:\s\\])*)\s*[=:]?\s*(.*)$", line)
        if match:
            result[_unescape(match.group(1))] = _unescape(match.group(2))
    return result


def _unescape(text: str) -> str:
    table = {"n": "\n", "r": "\r", "t": "\t"}
    return re.sub(r"\\(.)", lambda m: table.get(m.group(1), m.group(1)), text)


def _key(text: str) -> str:
    return _KEY_UNSAFE.sub("_", str(text))


def environment_properties(
    *,
    target: str,
    vendors: Iterable[str],
    base_urls: Mapping[str, str],
    suite_version: str,
    spec_hashes: Mapping[str, str],
) -> dict[str, str]:
    """The metadata as ordered key/value pairs, already stripped of anything credential-like."""
    props: dict[str, str] = {
        "target": _safe("target", target),
        "vendors": _safe("vendors", ", ".join(vendors)),
        "suite.version": _safe("suite.version", suite_version),
        "python": platform.python_version(),
    }
    job = os.environ.get(JOB_ENV, "").strip()
    if job:
        props["job"] = _safe("job", job)
    for vendor, url in sorted(base_urls.items()):
        key = f"base_url.{_key(vendor)}"
        props[key] = _safe(key, sanitize_url(url))
    for vendor, digest in sorted(spec_hashes.items()):
        key = f"spec_hash.{_key(vendor)}"
        digest = str(digest).strip()
        # A digest is random by nature: accept it only in digest shape, so a token cannot pass as one.
        props[key] = digest if _HEX_DIGEST.match(digest) else _safe(key, digest)
    return props


def _executor(props: Mapping[str, str]) -> dict[str, object]:
    executor: dict[str, object] = {
        "name": f"conformance {props.get('suite.version', '')}".strip(),
        "type": "conformance",
        "buildName": " / ".join(v for v in (props.get("target"), props.get("job")) if v),
    }
    # GitHub Actions names its run in these variables; the run's page is no secret.
    server, repo, run_id = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and run_id:
        executor["type"] = "github"
        executor["buildUrl"] = sanitize_url(f"{server}/{repo}/actions/runs/{run_id}")
        if os.environ.get("GITHUB_RUN_NUMBER", "").isdigit():
            executor["buildOrder"] = int(os.environ["GITHUB_RUN_NUMBER"])
    return executor


def write_environment(
    results_dir: Path,
    *,
    target: str,
    vendors: Iterable[str],
    base_urls: Mapping[str, str],
    suite_version: str,
    spec_hashes: Mapping[str, str],
) -> dict[str, str]:
    """Write environment.properties and executor.json into allure-results; return the properties written."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    props = environment_properties(
        target=target,
        vendors=vendors,
        base_urls=base_urls,
        suite_version=suite_version,
        spec_hashes=spec_hashes,
    )
    write_properties(results_dir / ENVIRONMENT_FILE, props)
    (results_dir / EXECUTOR_FILE).write_text(json.dumps(_executor(props), indent=2) + "\n", encoding="utf-8")
    return props
