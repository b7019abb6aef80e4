"""Shared helpers for the project's own tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.mock import VENDORS, MockServer, start_mocks

ROOT = Path(__file__).resolve().parents[1]
VENDOR_DOCS = ROOT.parent / "shared" / "vendor-docs"


@pytest.fixture(scope="session")
def vendor_docs() -> Path:
    if not VENDOR_DOCS.is_dir():
        pytest.skip("the vendor docs folder (../shared/vendor-docs) is not beside this checkout")
    return VENDOR_DOCS


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, MockServer]]:
    """One faithful mock per vendor, shared by a test module's tests (each test resets what it uses)."""
    running = start_mocks(VENDORS)
    yield running
    for server in running.values():
        server.stop()
