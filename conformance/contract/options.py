"""The run options the contract part needs while pytest collects it: target, vendors, budget, seed and faults."""

from __future__ import annotations

import hashlib
import os
import random
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import config as suite_config
from conformance import specs
from conformance.failures import SuiteConfigError


@dataclass(frozen=True)
class Options:
    """What `conformance run` (or pytest) was asked for, as far as the contract part cares."""

    target: str = "mock"
    vendors: tuple[str, ...] = ()
    budget: str = "dev"
    seed: int = 0
    seed_given: bool = False
    faults: tuple[str, ...] = ()
    readings: tuple[str, ...] = ()
    lifetime: int | None = None
    config_path: str | None = None
    operation: str | None = None  # "METHOD /path": the contract tests of one operation only
    # Per vendor, the requests the target's configuration allows a run (real targets only; mocks have no limit).
    request_budgets: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def is_mock(self) -> bool:
        return self.target == "mock"

    def reproduce(self, nodeid: str, vendor: str | None) -> str:
        """A command line that re-runs one contract test with the same target, budget, seed and faults.

        It runs as printed from any folder: the interpreter that ran the suite, the test file's absolute path,
        the suite's plugin named, and the user's spec folders passed on.
        """
        python = sys.executable if shutil.which("python") != sys.executable else "python"
        file, sep, name = nodeid.partition("::")
        # Schemathesis items cannot be named on the command line: name the test and select its operation.
        one = _OPERATION_ITEM.fullmatch(name)
        test = str(Path(specs.__file__).resolve().parents[1] / file) + sep + (one.group(1) if one else name)
        env = [f"{specs.SPECS_ENV}={os.environ[specs.SPECS_ENV]}"] if os.environ.get(specs.SPECS_ENV) else []
        args = [*env, python, "-m", "pytest", "-p", "conformance.plugin", "-p", "no:cacheprovider", test]
        args += ["--target", self.target, "--budget", self.budget, "--seed", str(self.seed)]
        if vendor:
            args += ["--vendor", vendor]
        if self.config_path:
            args += ["--config", self.config_path]
        for fault in self.faults:
            args += ["--mock-fault", fault]
        for reading in self.readings:
            args += ["--mock-reading", reading]
        if self.lifetime:
            args += ["--mock-lifetime", str(self.lifetime)]
        if one:
            args += ["--operation", one.group(2)]
        return " ".join(shlex.quote(a) for a in args)


_OPERATION_ITEM = re.compile(r"(test_\w+)\[[^\]]*\]\[([A-Z]+ /[^\]]*)\]")
_current: Options | None = None


def configure(pytest_config: Any) -> Options:
    """Read the suite's options once, before the contract module is imported (its schemas depend on them)."""
    global _current
    opt = pytest_config.getoption
    vendors = tuple(suite_config.select_vendors(opt("vendor", default=[]) or []))
    given = opt("seed", default=None)
    workerinput = getattr(pytest_config, "workerinput", None)
    if given is not None:
        seed = int(given)
    elif workerinput and workerinput.get("testrunuid"):
        # xdist workers of one run must generate the same cases: derive the seed from the run's shared id.
        seed = int(hashlib.sha256(str(workerinput["testrunuid"]).encode()).hexdigest()[:8], 16)
    else:
        seed = random.SystemRandom().randrange(1, 2**31)
    target = opt("target", default="mock") or "mock"
    request_budgets: dict[str, int] = {}
    if target != "mock":
        config_path = opt("config", default=None)
        try:
            remote = suite_config.load_remote_target(target, list(vendors), Path(config_path) if config_path else None)
            request_budgets = {v: t.request_budget for v, t in remote.vendors.items()}
        except SuiteConfigError:
            pass  # the plugin reports configuration errors (exit code 2) when the run starts
    _current = Options(
        target=target,
        vendors=vendors,
        budget=opt("budget", default="dev") or "dev",
        seed=seed,
        seed_given=given is not None,
        faults=tuple(opt("mock_fault", default=[]) or []),
        readings=tuple(opt("mock_reading", default=[]) or []),
        lifetime=opt("mock_lifetime", default=None),
        config_path=opt("config", default=None),
        operation=opt("operation", default=None),
        request_budgets=request_budgets,
    )
    return _current


def current() -> Options:
    """The configured options; outside pytest (benchmarks, imports), the defaults for every vendor."""
    if _current is None:
        return Options(vendors=tuple(specs.vendors()), seed=1)
    return _current
