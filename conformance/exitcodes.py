"""The exit codes of `conformance run` (and the other commands that share them): one definition for all."""

from __future__ import annotations

from collections.abc import Iterable

OK = 0  # conformant
NONCONFORMANT = 1  # the vendor contradicts a documented or RFC claim, or a security baseline
USAGE = 2  # usage or configuration error: bad options, bad data, rejected credentials, bad probe
INFRASTRUCTURE = 3  # only infrastructure problems (unreachable, timeouts, outages, rate limits)
DRIFT = 4  # drift against the baseline (when asked to compare)
SUITE_ERROR = 5  # the suite itself failed: internal error, a test erroring in suite code, a collection error
INTERRUPTED = 130  # Ctrl-C / SIGINT, as shells report it; SIGTERM and SIGHUP give 128 + their number (143, 129)

MEANING = {
    OK: "conformant",
    NONCONFORMANT: "non-conformance found",
    USAGE: "usage or configuration error",
    INFRASTRUCTURE: "infrastructure problems only",
    DRIFT: "drift detected",
    SUITE_ERROR: "suite error",
    INTERRUPTED: "interrupted",
}

# A configuration problem means the verdicts are about the wrong thing: it comes first. A suite error never
# reads as non-conformance, but it does not hide a real one either.
_PRECEDENCE = (("config", USAGE), ("failed", NONCONFORMANT), ("error", SUITE_ERROR), ("broken", INFRASTRUCTURE))


def for_outcomes(outcomes: Iterable[str]) -> int:
    """The exit code of a run whose tests ended with these outcomes."""
    kinds = set(outcomes)
    return next((code for kind, code in _PRECEDENCE if kind in kinds), OK)
