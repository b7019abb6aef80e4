"""Two fingerprints in, every change out: classified, flagged as drift or as a note, in a stable order."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from conformance.drift import shapes

# Changes of the vendor's behaviour: any of them makes `conformance drift` exit 4 and raises an alert.
DRIFT_KINDS = (
    "new-failure",
    "fixed",
    "deviation-gone",
    "failure-changed",
    "field-added",
    "field-removed",
    "field-type-changed",
    "field-presence-changed",
    "response-added",
    "response-gone",
    "header-changed",
    "lifetime-changed",
)
# Context a reader needs but no vendor change: infrastructure trouble, coverage and spec changes.
NOTE_KINDS = (
    "vendor-unreachable",
    "infrastructure",
    "not-compared",
    "now-known-deviation",
    "claim-untested",
    "claim-newly-tested",
    "response-not-observed",
    "response-newly-observed",
    "lifetime-not-observed",
    "spec-changed",
    "suite-changed",
)
KINDS = DRIFT_KINDS + NOTE_KINDS
_ORDER = {k: i for i, k in enumerate(KINDS)}
FAILING = ("failed", "error", "warning")
RUN = ""  # the vendor of run-level notes


class CompareError(Exception):
    """The two fingerprints cannot be compared meaningfully (e.g. different targets)."""


@dataclass(frozen=True)
class Change:
    """One classified difference between the baseline and this run."""

    vendor: str
    kind: str
    subject: str
    field: str = ""
    before: Any = None
    after: Any = None
    detail: str = ""

    @property
    def drift(self) -> bool:
        return self.kind in DRIFT_KINDS

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.vendor, _ORDER[self.kind], self.subject, self.field)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "drift": self.drift}


@dataclass
class DriftResult:
    """Every change, ordered; the vendors' run status; and what was compared with what."""

    changes: list[Change]
    status: dict[str, str] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)

    @property
    def drift(self) -> list[Change]:
        return [c for c in self.changes if c.drift]

    @property
    def notes(self) -> list[Change]:
        return [c for c in self.changes if not c.drift]

    @property
    def has_drift(self) -> bool:
        return any(c.drift for c in self.changes)

    def counts(self) -> dict[str, int]:
        tally = Counter(c.kind for c in self.changes)
        return {k: tally[k] for k in KINDS if tally[k]}

    def drift_vendors(self) -> list[str]:
        return sorted({c.vendor for c in self.drift})

    def unreachable_vendors(self) -> list[str]:
        return sorted(v for v, s in self.status.items() if s == "unreachable")


def check_comparable(baseline: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse to compare runs against different targets: every difference would be noise."""
    b, c = baseline.get("target"), current.get("target")
    if b and c and b != c:
        raise CompareError(f"the baseline is from target {b!r} but this run is from {c!r}: compare like with like")


def _claims(vendor: str, before: dict[str, str], after: dict[str, str]) -> list[Change]:
    out = []
    for claim in sorted(set(before) | set(after)):
        b, a = before.get(claim), after.get(claim)
        if a == b or a == "broken":
            continue  # unchanged, or not verified this time: the infrastructure note covers it
        known = b not in (None, "broken")
        kind: str | None = None
        if a is None:
            kind = "claim-untested" if known else None
        elif a in FAILING:
            kind = "failure-changed" if b in FAILING else "new-failure"
        elif a == "deviation":
            kind = "now-known-deviation" if b in FAILING else "new-failure"
        elif a == "deviation-gone":
            kind = "deviation-gone"
        elif a == "passed":
            if b in FAILING:
                kind = "fixed"
            elif b == "deviation":
                kind = "deviation-gone"
            elif b is None:
                kind = "claim-newly-tested"
        if kind:
            detail = "a known deviation (deviations.yaml)" if kind == "new-failure" and a == "deviation" else ""
            out.append(Change(vendor, kind, claim, "", b or "not tested", a or "not tested", detail))
    return out


def _descendant(path: str, parents: set[str]) -> bool:
    return any(path.startswith(p + ".") or path.startswith(p + "[") for p in parents)


def _fields(vendor: str, key: str, before: dict | None, after: dict | None) -> list[Change]:
    fb, fa = shapes.flatten(before), shapes.flatten(after)
    out: list[Change] = []
    reported: set[str] = set()
    for path in sorted(set(fb) | set(fa)):
        if _descendant(path, reported):
            continue  # a child of a field already reported as added, removed or retyped
        if path not in fb:
            out.append(Change(vendor, "field-added", key, path, None, fa[path][0]))
            reported.add(path)
        elif path not in fa:
            out.append(Change(vendor, "field-removed", key, path, fb[path][0], None))
            reported.add(path)
        elif fb[path][0] != fa[path][0]:
            out.append(Change(vendor, "field-type-changed", key, path, fb[path][0], fa[path][0]))
            reported.add(path)
        elif fb[path][1] != fa[path][1]:
            presence = {True: "always present", False: "sometimes absent"}
            out.append(
                Change(vendor, "field-presence-changed", key, path, presence[fb[path][1]], presence[fa[path][1]])
            )
    return out


def _headers(vendor: str, key: str, before: dict[str, list], after: dict[str, list]) -> list[Change]:
    out = []
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name, []), after.get(name, [])
        if b != a:
            out.append(
                Change(vendor, "header-changed", key, name, " | ".join(b) or "(absent)", " | ".join(a) or "(absent)")
            )
    return out


def _responses(
    vendor: str, before: dict[str, dict], after: dict[str, dict], before_complete: bool, after_complete: bool
) -> list[Change]:
    out: list[Change] = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b is None and a is not None:
            # A baseline with broken tests may simply not have asked: then a "new" response is not proof of change.
            kind = "response-added" if before_complete else "response-newly-observed"
            where = "documented in the spec" if a.get("in_spec") else "not in the spec"
            out.append(Change(vendor, kind, key, "", None, "observed", where))
        elif a is None and b is not None:
            # A response nobody asked for this time (a test stopped early or was broken) is not proof it is gone.
            kind = "response-gone" if after_complete else "response-not-observed"
            out.append(Change(vendor, kind, key, "", "observed", None))
        elif a is not None and b is not None:
            out += _fields(vendor, key, b.get("schema"), a.get("schema"))
            out += _headers(vendor, key, b.get("headers") or {}, a.get("headers") or {})
    return out


def _show(values: list[Any]) -> str:
    return ", ".join("none" if v is None else str(v) for v in values)


def _lifetimes(vendor: str, before: dict[str, dict], after: dict[str, dict]) -> list[Change]:
    out = []
    for token in sorted(set(before) | set(after)):
        bt, at = before.get(token, {}), after.get(token, {})
        for measure in sorted(set(bt) | set(at)):
            b, a = bt.get(measure), at.get(measure)
            subject = f"{token} token"
            if a is None or b is None:
                out.append(
                    Change(
                        vendor,
                        "lifetime-not-observed",
                        subject,
                        measure,
                        _show(b) if b else "not observed",
                        _show(a) if a else "not observed",
                    )
                )
            elif sorted(map(str, a)) != sorted(map(str, b)):
                out.append(Change(vendor, "lifetime-changed", subject, measure, _show(b), _show(a), "seconds"))
    return out


def compare(baseline: dict[str, Any], current: dict[str, Any]) -> DriftResult:
    """Classify every difference between two fingerprints (see DRIFT_KINDS and NOTE_KINDS)."""
    changes: list[Change] = []
    if baseline.get("suite_version") and baseline.get("suite_version") != current.get("suite_version"):
        changes.append(
            Change(
                RUN, "suite-changed", "suite version", "", baseline.get("suite_version"), current.get("suite_version")
            )
        )
    bv, cv = baseline.get("vendors", {}), current.get("vendors", {})
    status = {}
    for vendor in sorted(set(bv) | set(cv)):
        b, c = bv.get(vendor), cv.get(vendor)
        if c is None:
            changes.append(Change(vendor, "not-compared", vendor, "", "in baseline", "not in this run"))
            continue
        status[vendor] = c.get("status", "ok")
        if b is None or b.get("status") == "unreachable":
            before = "no baseline" if b is None else "unreachable in the baseline"
            changes.append(Change(vendor, "not-compared", vendor, "", before, "in this run", "--accept adds it"))
            continue
        tests = c.get("tests", {})
        if status[vendor] == "misconfigured":
            # Refused credentials or a missing probe: no verdict was reached, so nothing can have drifted.
            changes.append(
                Change(vendor, "not-compared", vendor, "", "", "misconfigured", "fix the configuration and run again")
            )
            continue
        if status[vendor] == "unreachable":
            broken = tests.get("broken", 0)
            changes.append(
                Change(vendor, "vendor-unreachable", vendor, "", "", "unreachable", f"all {broken} test(s) broken")
            )
            continue
        if status[vendor] == "degraded":
            changes.append(
                Change(
                    vendor,
                    "infrastructure",
                    vendor,
                    "",
                    "",
                    f"{tests.get('broken', 0)} test(s) broken",
                    "the claims those tests cover were not compared",
                )
            )
        if b.get("spec_hash") != c.get("spec_hash"):
            changes.append(Change(vendor, "spec-changed", vendor, "spec hash", b.get("spec_hash"), c.get("spec_hash")))
        changes += _claims(vendor, b.get("claims", {}), c.get("claims", {}))
        changes += _responses(
            vendor,
            b.get("responses", {}),
            c.get("responses", {}),
            b.get("status", "ok") == "ok",
            status[vendor] == "ok",
        )
        changes += _lifetimes(vendor, b.get("lifetimes", {}), c.get("lifetimes", {}))
    changes.sort(key=Change.sort_key)
    meta = ("format", "suite_version", "target")
    return DriftResult(
        changes,
        status,
        {k: baseline.get(k) for k in meta},
        {k: current.get(k) for k in meta},
    )


def accept(baseline: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any]:
    """The new baseline: this run's vendors replace theirs; an unreachable vendor keeps its old entry, or gets none."""
    vendors = dict((baseline or {}).get("vendors", {}))
    for vendor, entry in current.get("vendors", {}).items():
        if entry.get("status") == "unreachable":
            continue  # an unreachable run says nothing about the vendor: keep what it last answered
        vendors[vendor] = entry
    return {**current, "vendors": {v: vendors[v] for v in sorted(vendors)}}
