"""Typed outcomes of checks: findings (claims, quote, expected vs actual, exchange) and infrastructure problems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.http import Exchange
    from conformance.specs import Claim

SEVERITY_ORDER = ("blocker", "critical", "normal", "minor", "trivial")


class InfrastructureError(Exception):
    """The vendor could not be asked (unreachable, timeout, outage, rate limit): never a conformance verdict."""

    def __init__(self, message: str) -> None:
        # Idempotent: copies of an exception (the circuit breaker's) are rebuilt from the prefixed message.
        super().__init__(message if message.startswith("INFRASTRUCTURE: ") else f"INFRASTRUCTURE: {message}")


class SuiteConfigError(Exception):
    """Bad configuration or usage: a one-line message, exit code 2."""


class SuiteDefect(Exception):
    """The suite itself is wrong (e.g. a finding that names no claim): never a verdict on the vendor."""

    def __init__(self, message: str) -> None:
        super().__init__(f"SUITE DEFECT: {message}")


class VendorConfigError(Exception):
    """The vendor's configuration cannot work (credentials refused, no such probe): no verdicts, exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message if message.startswith("CONFIGURATION: ") else f"CONFIGURATION: {message}")


class Mismatch(Exception):
    """Raised inside a check: what the claim expects and what the target did."""

    def __init__(self, expected: Any, actual: Any, detail: str = "") -> None:
        super().__init__(f"expected {expected}, got {actual}")
        self.expected, self.actual, self.detail = expected, actual, detail


@dataclass
class Finding:
    """One check that did not hold, with the claims it verifies."""

    check: str
    claims: tuple[Claim, ...]
    expected: Any
    actual: Any
    exchange: Exchange | None = None
    detail: str = ""
    # The spec's `x-assumption` the finding rests on (contract checks): a guessed part of the spec can only warn,
    # unless the claim at stake is an RFC rule or a security baseline, which no guess about shapes excuses.
    assumption: str = ""

    @property
    def assumed_only(self) -> bool:
        """Every claim is a guess and none is a security baseline: a warning, not a non-conformance."""
        if not self.claims:
            return False
        if self.assumption:
            return not any(c.kind == "rfc" or c.baseline is not None for c in self.claims)
        return not any(c.decisive for c in self.claims)

    @property
    def baselines(self) -> list[Any]:
        return list({c.baseline.id: c.baseline for c in self.claims if c.baseline is not None}.values())

    def render(self) -> str:
        ids = ", ".join(c.id for c in self.claims) or "(no claim)"
        title = self.claims[0].title if self.claims else self.check
        lines = [f"{ids}: {title} [{self.check}]", f"  expected: {self.expected}", f"  actual:   {self.actual}"]
        if self.detail:
            lines.append(f"  detail:   {self.detail}")
        if self.assumption:
            lines.append(f"  spec assumption: {self.assumption}")
        for c in self.claims:
            lines.append(f'  {c.id} ({c.kind}; {c.source}): "{c.quote}"')
            if c.reading:
                lines.append(f"    suite's reading: {c.reading}")
        for b in self.baselines:
            lines.append(f"  security baseline {b.id} ({b.cite}): {b.requirement}")
            lines.append(f"    a violation means: {b.consequence}; it fails whatever the vendor's page says")
        if self.exchange is not None:
            lines += ["  exchange:", *("    " + line for line in self.exchange.render().splitlines()[:30])]
            lines.append(f"  reproduce: {self.exchange.curl}")
        return "\n".join(lines)


class ConformanceFailure(AssertionError):
    """The target contradicts one or more claims; the first line lists the claim IDs."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = list(findings)
        super().__init__(self.render())

    @property
    def assumed_only(self) -> bool:
        """Every finding rests on assumed claims only: a warning, not a non-conformance."""
        return all(f.assumed_only for f in self.findings)

    @property
    def claimless(self) -> list[str]:
        """Checks whose finding names no claim: a suite defect (every verdict must trace to a claim)."""
        return list(dict.fromkeys(f.check for f in self.findings if not f.claims))

    @property
    def claims(self) -> list[Claim]:
        seen: dict[str, Claim] = {}
        for f in self.findings:
            for c in f.claims:
                seen.setdefault(c.id, c)
        return list(seen.values())

    @property
    def claim_ids(self) -> list[str]:
        return [c.id for c in self.claims]

    @property
    def severity(self) -> str:
        ranks = [SEVERITY_ORDER.index(c.severity) for c in self.claims] or [2]
        return SEVERITY_ORDER[min(ranks)]

    def headline(self) -> str:
        checks = ", ".join(dict.fromkeys(f.check for f in self.findings))
        baselines = {b.id for f in self.findings if not f.assumed_only for b in f.baselines}
        mark = f" [security baseline: {', '.join(sorted(baselines))}]" if baselines else ""
        return f"{', '.join(self.claim_ids) or '(no claim)'} not met ({checks}){mark}"

    def render(self) -> str:
        body = "\n\n".join(f.render() for f in self.findings)
        return f"{self.headline()}\n\n{body}"
