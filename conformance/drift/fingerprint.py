"""Per-vendor fingerprints of a run (claim verdicts, response shapes, lifetimes, auth headers) from reports/."""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conformance import __version__, specs
from conformance.drift import headers as hdr
from conformance.drift import operations, shapes
from conformance.drift.scrub import scrub
from conformance.http import OUTAGE_STATUSES

FORMAT = "conformance-fingerprint/1"
FILENAME = "fingerprint.json"

# Claim verdicts, strongest first: a claim seen in several tests takes the strongest verdict among them.
# A verdict beats "broken" (infrastructure), and "broken" beats "passed" so an unverified claim never looks fine.
VERDICTS = ("failed", "error", "warning", "deviation", "deviation-gone", "broken", "passed")
_RANK = {v: i for i, v in enumerate(VERDICTS)}
_GONE_CLAIM = re.compile(r"([A-Z][A-Z0-9]*(?:-[A-Z0-9.]+)+) now holds")
DEVIATION_GONE = "DEVIATION GONE"
# Outcomes that mean the vendor gave an answer the suite could judge.
_VERDICT_OUTCOMES = {"passed", "failed", "warning", "deviation", "error"}


class FingerprintError(Exception):
    """The reports folder holds no usable run (no outcomes.json, or a malformed one)."""


def _stronger(a: str | None, b: str) -> str:
    return b if a is None or _RANK[b] < _RANK[a] else a


def claim_verdicts(results: Iterable[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """vendor -> claim ID -> verdict, from the per-test outcomes of outcomes.json."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for r in results:
        vendor, outcome = r.get("vendor"), r.get("outcome")
        if not vendor:
            continue
        claims = list(r.get("claims") or [])
        failed = list(r.get("failed_claims") or [])
        found: dict[str, str] = {}
        if outcome == "passed":
            found = {c: "passed" for c in claims}
        elif outcome in ("failed", "deviation") or (outcome == "warning" and failed):
            verdict = "warning" if outcome == "warning" else outcome
            found = {c: "passed" for c in claims if c not in failed}
            found.update({c: verdict for c in failed})
        elif outcome == "warning":
            # A warning without failed claims is a known deviation that no longer happens: its claim now holds.
            found = {c: "passed" for c in claims}
            if str(r.get("message", "")).startswith(DEVIATION_GONE):
                found.update({c: "deviation-gone" for c in _GONE_CLAIM.findall(r["message"])})
        elif outcome == "broken":
            found = {c: "broken" for c in claims}
        elif outcome == "error":
            found = {c: "error" for c in (failed or claims)}
        for claim, verdict in found.items():
            out[vendor][claim] = _stronger(out[vendor].get(claim), verdict)
    return {v: {c: claims[c] for c in sorted(claims)} for v, claims in out.items()}


def vendor_status(counts: dict[str, int]) -> str:
    """ok, degraded (some tests broken), unreachable (no test got an answer) or misconfigured (credentials refused,
    probe missing: no verdicts at all)."""
    if counts.get("config"):
        return "misconfigured"
    if not counts.get("broken"):
        return "ok"
    if any(counts.get(k) for k in _VERDICT_OUTCOMES):
        return "degraded"
    return "unreachable"


def _observations(reports: Path) -> Iterable[dict[str, Any]]:
    for path in sorted((reports / "observations").glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except ValueError:
                    continue  # a worker killed mid-line leaves a partial record; the rest is still good


class _Response:
    """Accumulates the observations of one operation + status."""

    def __init__(self) -> None:
        self.count = 0
        self.schema: dict[str, Any] | None = None
        self.non_json = 0
        self.headers: dict[str, set[str]] = defaultdict(set)

    def add(self, record: dict[str, Any]) -> None:
        self.count += 1
        body = record.get("json")
        if body is None:
            self.non_json += 1
        else:
            inferred = shapes.infer(body)
            self.schema = inferred if self.schema is None else shapes.merge(self.schema, inferred)
        seen = {str(k).lower(): str(v) for k, v in (record.get("headers") or {}).items()}
        for name in hdr.AUTH_HEADERS:
            if name in seen:
                self.headers[name].add(hdr.normalise(name, seen[name]))
            else:
                self.headers[name].add(hdr.ABSENT)

    def to_json(self) -> dict[str, Any]:
        # A header no observation carried says nothing; one carried only sometimes keeps "(absent)" as a value.
        heads = {n: sorted(v) for n, v in self.headers.items() if v != {hdr.ABSENT}}
        out: dict[str, Any] = {"observations": self.count, "schema": self.schema, "headers": heads}
        if self.schema is not None and self.non_json:
            out["non_json_bodies"] = True
        return out


def _responses_and_lifetimes(reports: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    responses: dict[str, dict[str, _Response]] = defaultdict(dict)
    lifetimes: dict[str, dict[str, dict[str, set]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(set)))
    meta: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in _observations(reports):
        vendor = rec.get("vendor")
        if not vendor:
            continue
        if "lifetime" in rec:
            seen = rec["lifetime"] or {}
            token = str(seen.get("token", "access"))
            for measure in ("advertised", "jwt_exp_minus_iat"):
                if measure in seen:
                    lifetimes[vendor][token][measure].add(json.dumps(seen[measure]))
            continue
        status, method, path = rec.get("status"), str(rec.get("method", "")).upper(), str(rec.get("path", ""))
        # Outage answers (429, 5xx gateways) are infrastructure, never the vendor's contract.
        if not isinstance(status, int) or status in OUTAGE_STATUSES or path.startswith("/_mock/"):
            continue
        template, documented = operations.template_for(vendor, path)
        key = f"{method} {template} {status}"
        if key not in responses[vendor]:
            responses[vendor][key] = _Response()
            meta[(vendor, key)] = {
                "operation": f"{method} {template}",
                "status": status,
                "in_spec": documented and operations.is_documented(vendor, template, method, status),
            }
        responses[vendor][key].add(rec)
    shaped = {
        v: {k: {**meta[(v, k)], **resp.to_json()} for k, resp in sorted(by_key.items())}
        for v, by_key in responses.items()
    }
    lives = {
        v: {
            token: {m: _sorted_values(values) for m, values in sorted(measures.items())}
            for token, measures in sorted(tokens.items())
        }
        for v, tokens in lifetimes.items()
    }
    return shaped, lives


def _sorted_values(encoded: set[str]) -> list[Any]:
    # Values are kept JSON-encoded while collected (hashable); null ("not advertised") sorts last.
    values = [json.loads(x) for x in encoded]
    return sorted(values, key=lambda x: (x is None, str(type(x)), x if x is not None else 0))


def _target(reports: Path) -> str | None:
    try:
        from conformance.report.environment import ENVIRONMENT_FILE, read_properties
    except ImportError:  # pragma: no cover - the report package ships with the suite
        return None
    return read_properties(reports / "allure-results" / ENVIRONMENT_FILE).get("target")


def _spec_hash(vendor: str) -> str | None:
    try:
        return specs.spec_hash(vendor)
    except OSError:
        return None


def build(reports: Path) -> dict[str, Any]:
    """The fingerprint of the run whose outputs are in `reports` (outcomes.json and observations/)."""
    reports = Path(reports)
    path = reports / "outcomes.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))["results"]
    except FileNotFoundError:
        raise FingerprintError(f"{path} not found: run `conformance run` first") from None
    except (ValueError, KeyError, TypeError):
        raise FingerprintError(f"{path} is not an outcomes file of `conformance run`") from None
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in results:
        if r.get("vendor"):
            counts[r["vendor"]][str(r.get("outcome"))] += 1
    verdicts = claim_verdicts(results)
    responses, lifetimes = _responses_and_lifetimes(reports)
    vendors = {}
    for vendor in sorted(counts):
        vendors[vendor] = {
            "spec_hash": _spec_hash(vendor),
            "status": vendor_status(counts[vendor]),
            "tests": dict(sorted(counts[vendor].items())),
            "claims": verdicts.get(vendor, {}),
            "responses": responses.get(vendor, {}),
            "lifetimes": lifetimes.get(vendor, {}),
        }
    return scrub({"format": FORMAT, "suite_version": __version__, "target": _target(reports), "vendors": vendors})


def write_fingerprint(reports: Path | str = "reports", *, quiet: bool = False) -> Path | None:
    """Write reports/fingerprint.json; on any problem print one line and return None (a run never fails on it)."""
    reports = Path(reports)
    try:
        data = build(reports)
        out = reports / FILENAME
        out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    except Exception as exc:  # the fingerprint is an extra: report why it is missing, keep the run's verdict
        print(f"conformance: fingerprint not written: {exc}", file=sys.stderr)
        return None
    if not quiet:
        print(f"fingerprint: {out}")
    return out


def load(path: Path) -> dict[str, Any]:
    """A fingerprint file, checked to be one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FingerprintError(f"{path} not found") from None
    except ValueError as exc:
        raise FingerprintError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("vendors"), dict):
        raise FingerprintError(f"{path} is not a fingerprint ({FORMAT})")
    return data


def load_or_build(location: Path) -> dict[str, Any]:
    """A fingerprint from a file, or from a reports folder (its fingerprint.json, else built from its outcomes)."""
    location = Path(location)
    if location.is_dir():
        if (location / FILENAME).is_file():
            return load(location / FILENAME)
        return build(location)
    return load(location)
