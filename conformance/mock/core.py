"""The mock's clock and the state one vendor mock keeps between requests."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CLOCK_MODES = ("frozen", "running")
LOG_LIMIT = 2000


class Clock:
    """Integer-second time that tests can move.

    `frozen` (the suite's default) starts at the real time on reset and moves only by `advance`/`set`,
    so boundary tests (accepted at lifetime - 1 s, rejected at lifetime + 1 s) are exact. `running`
    follows real time plus an offset, for people and for real-wait tests.
    """

    def __init__(self, mode: str = "frozen", *, source: Callable[[], float] = time.time) -> None:
        if mode not in CLOCK_MODES:
            raise ValueError(f"clock mode must be one of {', '.join(CLOCK_MODES)}, not {mode!r}")
        self.mode = mode
        self._source = source
        self._frozen_at = 0.0
        self._offset = 0.0
        self.reset()

    def reset(self) -> None:
        self._frozen_at = self._source()
        self._offset = 0.0

    def time(self) -> float:
        return self._frozen_at + self._offset if self.mode == "frozen" else self._source() + self._offset

    def now(self) -> int:
        return math.floor(self.time())

    def advance(self, seconds: float) -> int:
        self._offset += seconds
        return self.now()

    def set(self, epoch: float) -> int:
        self._offset = epoch - (self._frozen_at if self.mode == "frozen" else self._source())
        return self.now()


@dataclass
class User:
    """Someone a token can belong to; a restricted user authenticates but may not manage API keys."""

    id: str
    email: str
    restricted: bool = False


@dataclass
class ApiKey:
    """A Knowledge Stack API key; the secret stays here and leaves the mock only at creation."""

    id: str
    name: str
    secret: str
    owner: str
    created: int
    deleted: bool = False


@dataclass
class MockState:
    """Everything one vendor mock remembers; `reset()` forgets it all but the issued-secrets list."""

    vendor: str
    clock: Clock
    credentials: dict[str, str]
    lifetimes: dict[str, int]
    start_faults: tuple[str, ...] = ()
    faults: tuple[str, ...] = ()
    users: dict[str, User] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    # jti of a refresh token -> (iat, exp) of the access token issued with it: a refresh that does
    # not reset the expiry (a fault) needs to know the original one.
    sessions: dict[str, tuple[int, int]] = field(default_factory=dict)
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    # Opaque access tokens (a fault) are the one kind looked up by value; JWTs never are. Kept across resets on
    # purpose: a JWT outlives a reset (its signature still checks out), and so must a token that is merely opaque.
    opaque: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    log_seq: int = 0
    internal_errors: int = 0
    requests: int = 0
    # Requests served since the mock started, kept across resets: "every N-th request of the run" faults.
    served: int = 0
    # Kept across resets on purpose: the suite's secret-leak self-test needs every secret handed out.
    issued: list[str] = field(default_factory=list)

    def reset(self, *, clear_faults: bool = False) -> None:
        self.clock.reset()
        self.faults = () if clear_faults else self.start_faults
        if clear_faults:
            self.start_faults = ()
        self.revoked.clear()
        self.sessions.clear()
        self.api_keys.clear()
        self.log.clear()
        self.internal_errors = 0
        self.requests = 0

    def key_by_secret(self, secret: str) -> ApiKey | None:
        return next((k for k in self.api_keys.values() if k.secret == secret), None)

    def record(self, entry: dict[str, Any]) -> None:
        self.log_seq += 1
        self.log.append({"seq": self.log_seq, **entry})
