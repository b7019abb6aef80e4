"""What a contract test item is about (vendor, operation) and its Allure labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import allure
import pytest

from conformance import specs

if TYPE_CHECKING:
    from conformance.contract.runtime import VendorContract


@dataclass(frozen=True)
class ItemInfo:
    """Which vendor (and operation) a contract test is about."""

    vendor: str
    label: str | None = None


ITEM_KEY = pytest.StashKey[ItemInfo]()


def label_allure(contract: VendorContract, title: str, story: str, claims: list[str] | tuple[str, ...] = ()) -> None:
    """Feature = contract, story = operation; the operation is a parameter so entries stay apart.

    The vendor's labels (epic, vendor, target, job) come from the plugin's label_vendor() at setup.
    """
    allure.dynamic.feature("contract")
    allure.dynamic.story(story)
    allure.dynamic.title(f"{contract.profile.title} contract: {title}")
    allure.dynamic.tag("schemathesis")
    allure.dynamic.parameter("operation", story)
    allure.dynamic.parameter("budget", contract.options.budget, excluded=True)
    allure.dynamic.parameter("seed", str(contract.options.seed), excluded=True)
    index = specs.claim_index()
    for claim_id in claims:
        claim = index.get(claim_id)
        if claim is not None:
            allure.dynamic.label("claim", claim.id)
            allure.dynamic.link(claim.doc_url, name=f"{claim.id}: {claim.source}")
