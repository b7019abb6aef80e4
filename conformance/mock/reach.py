"""Which faults reach a vendor made only of data, and which of its own claims each then breaks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from conformance import specs

Profile = dict[str, Any]

# A fault the built-in vendors share only where a profile feature makes it possible reaches a vendor made of
# data when its profile has that feature; a fault every built-in vendor has reaches every vendor.
NEEDS: dict[str, Callable[[Profile], bool]] = {
    "wrong-lifetime": lambda p: p["lifetimes"]["access"]["kind"] == "documented",
    "lifetime-wrong-type": lambda p: "lifetime_field" in p["issue"],
    "wrong-401-body": lambda p: "bad_credentials_body" in p["issue"],
    "refresh-same-expiry": lambda p: "refresh" in p,
    "refresh-token-as-bearer": lambda p: p.get("refresh", {}).get("send") == "refresh_token_field",
    "refresh-token-short": lambda p: "refresh" in p["lifetimes"],
    "refresh-token-missing": lambda p: "refresh_field" in p["issue"],
    "multipart-rejected": lambda p: p["issue"]["encoding"] == "form",
    "wrong-encoding-accepted": lambda p: p["issue"]["encoding"] == "form",
    "wrong-content-type": lambda p: p["issue"]["encoding"] == "json",
    "revoked-key-works": lambda p: "revocation" in p["capabilities"],
    "double-delete-ok": lambda p: "revocation" in p["capabilities"],
    "key-delete-forbidden": lambda p: "revocation" in p["capabilities"],
    "list-leaks-keys": lambda p: "keys" in p["capabilities"],
    "key-expires": lambda p: "keys" in p["capabilities"],
    "api-key-not-bearer": lambda p: "keys" in p["capabilities"],
    "key-not-returned": lambda p: "keys" in p["capabilities"],
    "key-not-listed": lambda p: "keys" in p["capabilities"],
    "key-list-forbidden": lambda p: "keys" in p["capabilities"],
    "signout-noop": lambda p: "signout" in p["capabilities"],
    "signout-needs-body": lambda p: "signout" in p["capabilities"],
}


# Where the built-in claims a fault names group the check it breaks with others, the check itself.
BREAKS: dict[str, set[str]] = {
    "malformed-authorization-accepted": {"malformed_authorization_rejected"},
    "refresh-token-missing": {"refresh_token_issued"},
}


def reaches(name: str, fault_vendors: Iterable[str], built_in: Iterable[str], vendor: str) -> bool:
    """Whether the fault `name` (defined for `fault_vendors`) applies to `vendor`."""
    built_in = tuple(built_in)
    if vendor in built_in:
        return vendor in fault_vendors
    if name in NEEDS:
        return NEEDS[name](specs.load_profile(vendor).data)
    return set(fault_vendors) >= set(built_in)


def claims_broken(fault_claims: Iterable[str], vendor: str, name: str = "") -> tuple[str, ...]:
    """The claims a fault breaks at `vendor`: its shared RFC ones, and the vendor's own claims that rest on a check
    the fault breaks at every built-in vendor it names (a check one vendor's claim merely groups with it is not)."""
    index = specs.claim_index()
    named = [index[c] for c in fault_claims if c in index]
    shared = [c.id for c in named if c.vendor == specs.RFC]
    if any(c.vendor == vendor for c in named):
        return tuple(c.id for c in named if c.vendor in (vendor, specs.RFC))
    per_vendor: dict[str, set[str]] = {}
    for c in named:
        if c.vendor != specs.RFC:
            per_vendor.setdefault(c.vendor, set()).update(c.checks)
    checks = BREAKS.get(name) or (set.intersection(*per_vendor.values()) if per_vendor else set())
    own = [c.id for c in specs.load_claims(vendor) if set(c.checks) & checks]
    return (*shared, *own)
