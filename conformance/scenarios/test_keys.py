"""API-key lifecycle: created keys are shown once, listed without their secret, usable, revocable, lasting."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.checks import listed_items
from conformance.session import VendorSession, bearer


class KeyJar:
    """Keys created by one scenario; every one is deleted at teardown, even when the scenario failed."""

    def __init__(self, v: VendorSession) -> None:
        self.v = v
        self.spec = v.profile["keys"]
        self.created: list[str] = []

    def create(self) -> tuple[Any, dict[str, Any]]:
        name = f"{self.spec['name_prefix']}{uuid.uuid4().hex[:10]}"
        op = self.spec["create"]
        resp = self.v.http.request(
            op["method"], op["path"], headers=bearer(self.v.token().value), json_body={"name": name}
        )
        body = resp.json_or_none() if 200 <= resp.status < 300 else None
        if isinstance(body, dict) and isinstance(body.get(self.spec["id_field"]), str):
            self.created.append(body[self.spec["id_field"]])
            if isinstance(body.get(self.spec["key_field"]), str):
                self.v.redactor.add(body[self.spec["key_field"]])
        return resp, body or {}

    def delete(self, key_id: str) -> Any:
        op = self.spec["delete"]
        resp = self.v.http.request(
            op["method"], op["path"].replace("{id}", key_id), headers=bearer(self.v.token().value)
        )
        if 200 <= resp.status < 300 and key_id in self.created:
            self.created.remove(key_id)
        return resp

    def cleanup(self) -> None:
        for key_id in list(self.created):
            # Cleanup must try every key; the sweep at the next start catches what is left.
            with contextlib.suppress(Exception):
                self.delete(key_id)


_swept: set[str] = set()


@pytest.fixture
def keys(v: VendorSession) -> Iterator[KeyJar]:
    if v.vendor not in _swept:
        _swept.add(v.vendor)
        sweep_leftover_keys(v)
    jar = KeyJar(v)
    yield jar
    jar.cleanup()


@pytest.mark.capability("keys")
def test_key_shown_once_listed_and_usable(v: VendorSession, keys: KeyJar) -> None:
    resp, body = keys.create()
    v.require("key_shown_at_creation", resp)
    key, key_id = body[keys.spec["key_field"]], body[keys.spec["id_field"]]
    listing = v.http.request(keys.spec["list"]["method"], keys.spec["list"]["path"], headers=bearer(v.token().value))
    # A refused listing is its own finding; the key's use as a Bearer token is still judged.
    if v.check("key_list_accepted", listing):
        v.check("key_listed_after_creation", listing, key_id)
        v.check("key_list_hides_full_key", listing, key)
    v.check("api_key_accepted_as_bearer", v.probe(f"Bearer {key}"))


@pytest.mark.capability("revocation")
def test_deleted_key_rejected(v: VendorSession, keys: KeyJar) -> None:
    resp, body = keys.create()
    v.require("key_shown_at_creation", resp)
    key, key_id = body[keys.spec["key_field"]], body[keys.spec["id_field"]]
    v.require("key_delete_accepted", keys.delete(key_id))
    after = v.probe(f"Bearer {key}")
    v.check("deleted_key_rejected", after)
    v.check("invalid_token_error_code", after)
    v.check("no_secret_echo", after, [key])
    again = keys.delete(key_id)
    v.check("second_delete_not_found", again)
    v.check("bad_input_no_server_error", again)


@pytest.mark.capability("keys")
@pytest.mark.clock
def test_key_still_valid_a_year_later(v: VendorSession, keys: KeyJar) -> None:
    if not v.movable_clock:
        pytest.skip(f"{v.vendor}: a year cannot be waited out on a real clock")
    resp, body = keys.create()
    v.require("key_shown_at_creation", resp)
    v.advance_clock(366 * 86400)
    v.check("key_never_expires", v.probe(f"Bearer {body[keys.spec['key_field']]}"))


def sweep_leftover_keys(v: VendorSession) -> int:
    """Delete keys a killed earlier run left behind (recognised by the suite's name prefix)."""
    spec = v.profile["keys"]
    listing = v.http.request(spec["list"]["method"], spec["list"]["path"], headers=bearer(v.token().value))
    items = (listed_items(spec, listing.json_or_none()) or []) if listing.status == 200 else []
    jar = KeyJar(v)
    removed = 0
    for item in items:
        ours = isinstance(item, dict) and str(item.get("name", "")).startswith(spec["name_prefix"])
        if ours and 200 <= jar.delete(str(item[spec["id_field"]])).status < 300:
            removed += 1
    return removed
