"""Termination signals end a run like Ctrl-C: SIGTERM and SIGHUP raise KeyboardInterrupt, so cleanup and reports run."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from types import FrameType

# What CI runners send on cancel or timeout (SIGTERM) and what a closed terminal sends (SIGHUP).
TERMINATING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))

received: int | None = None
# Child processes that must hear the signal at once to clean up after themselves (pytest-xdist workers).
_children: set[int] = set()


def forward_to(pid: int) -> None:
    _children.add(pid)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    global received
    received = signum
    for pid in list(_children):
        # Workers tear down their own mocks and TLS material; without this they would wait for the end of the
        # session to be asked to stop, and be killed if their teardown took longer than pytest-xdist waits.
        with contextlib.suppress(OSError):
            os.kill(pid, signum)
    _children.clear()
    raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")


def install() -> None:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt in this process (only the main thread may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in TERMINATING:
        # A signal ignored on purpose (nohup) stays ignored.
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _interrupt)


def exit_code(default: int = 130) -> int:
    """The shell's convention for a run ended by a signal: 128 + its number (130 for Ctrl-C)."""
    return 128 + received if received is not None else default
