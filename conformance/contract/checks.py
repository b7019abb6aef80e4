"""The Schemathesis check functions the contract part runs, looked up by name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from schemathesis.checks import CHECKS, load_all_checks

from conformance.contract.budgets import RESPONSE_CHECKS


def named(names: Iterable[str]) -> list[Callable[..., Any]]:
    load_all_checks()
    return [CHECKS.get_one(name) for name in names]


def response_checks() -> list[Callable[..., Any]]:
    return named(RESPONSE_CHECKS)
