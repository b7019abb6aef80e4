"""Example budgets per `--budget` level and the Schemathesis configuration built from a budget and a seed."""

from __future__ import annotations

from dataclasses import dataclass

import hypothesis
from schemathesis.config import SchemathesisConfig

# The checks that matter for an authentication contract (the stateful ones are added by the stateful run).
RESPONSE_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
)
STATEFUL_CHECKS = ("use_after_free", "ensure_resource_availability")


@dataclass(frozen=True)
class Budget:
    """How hard the contract part tries, per operation and for the stateful run."""

    name: str
    max_examples: int  # fuzzing phase, per operation and generation mode (the examples and coverage phases add theirs)
    coverage: bool  # the deterministic coverage phase (boundary values, missing fields, wrong types)
    stateful_scenarios: int  # state-machine runs per vendor with links
    stateful_steps: int  # at most this many calls per scenario


BUDGETS: dict[str, Budget] = {
    # Local default: the whole contract part for every vendor in about ten seconds against the mocks.
    "dev": Budget("dev", max_examples=10, coverage=False, stateful_scenarios=15, stateful_steps=6),
    # Pull requests and the pre-release gate: every phase, a few minutes at most.
    "ci": Budget("ci", max_examples=50, coverage=True, stateful_scenarios=40, stateful_steps=10),
    # Nightly against sandboxes (within each vendor's request budget) or deep runs against the mocks.
    "nightly": Budget("nightly", max_examples=400, coverage=True, stateful_scenarios=200, stateful_steps=16),
}


# Rough costs measured against the mocks, in requests: the coverage phase of one operation, the examples phase and
# the checks' probes, and each fuzzing example (a few need a token or a probe as well).
COVERAGE_COST = 40
FIXED_COST = 5
EXAMPLE_COST = 1.5
# Share of a vendor's request budget the contract part plans to use (the scenarios and token calls need the rest).
CONTRACT_SHARE = 0.5


def plan(level: str, request_budget: int | None, operations: int, links: bool) -> Budget:
    """The level's budget, scaled down so that the contract part fits in a real target's request budget.

    The request budget is also enforced request by request (what does not fit ends as `broken`, never sent);
    planning keeps a nightly run against a sandbox from spending it all on the first operations.
    """
    base = BUDGETS[level]
    if not request_budget:
        return base
    units = operations + (2 if links else 0)
    per_unit = request_budget * CONTRACT_SHARE / max(units, 1)
    coverage = base.coverage and per_unit >= 2 * COVERAGE_COST
    room = per_unit - FIXED_COST - (COVERAGE_COST if coverage else 0)
    max_examples = max(1, min(base.max_examples, int(room / EXAMPLE_COST)))
    scenarios = max(1, min(base.stateful_scenarios, int(2 * per_unit / base.stateful_steps)))
    if (max_examples, coverage, scenarios) == (base.max_examples, base.coverage, base.stateful_scenarios):
        return base
    return Budget(
        f"{level} (scaled to {request_budget} requests)", max_examples, coverage, scenarios, base.stateful_steps
    )


def schemathesis_config(budget: Budget, seed: int) -> SchemathesisConfig:
    """An explicit configuration: no schemathesis.toml is discovered, no example database is written."""
    checks: dict[str, object] = {"enabled": False}
    for name in (*RESPONSE_CHECKS, *STATEFUL_CHECKS):
        checks[name] = {"enabled": True}
    return SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "generation": {
                "mode": "all",
                "max-examples": budget.max_examples,
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": budget.coverage},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True, "max-steps": budget.stateful_steps},
            },
            "checks": checks,
            "output": {"sanitization": {"enabled": True}},
        }
    )


def stateful_settings(budget: Budget) -> hypothesis.settings:
    """Hypothesis settings of one vendor's stateful run (the seed is applied to the machine itself)."""
    return hypothesis.settings(
        max_examples=budget.stateful_scenarios,
        stateful_step_count=budget.stateful_steps,
        database=None,
        deadline=None,
        derandomize=True,
        print_blob=False,
        verbosity=hypothesis.Verbosity.quiet,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
    )
