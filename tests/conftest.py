"""Shared helpers for the project's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENDOR_DOCS = ROOT.parent / "shared" / "vendor-docs"


@pytest.fixture(scope="session")
def vendor_docs() -> Path:
    if not VENDOR_DOCS.is_dir():
        pytest.skip("the vendor docs folder (../shared/vendor-docs) is not beside this checkout")
    return VENDOR_DOCS
