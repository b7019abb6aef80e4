"""Token expiry and refresh: exact boundaries on a movable clock, overlapping real waits elsewhere."""

from __future__ import annotations

import pytest

from conformance import jwtutil
from conformance.scenarios.timing import RealWait, expected_lifetime
from conformance.session import VendorSession, bearer


@pytest.mark.capability("expiry")
@pytest.mark.clock
def test_token_expires_after_its_lifetime(v: VendorSession, real_wait_tokens: dict[str, RealWait]) -> None:
    if v.movable_clock:
        tok = v.issue()
        v.advance_clock(expected_lifetime(v, tok) - 1)
        v.check("token_accepted_before_expiry", v.probe(f"Bearer {tok.value}"))
        v.advance_clock(2)
    else:
        wait = real_wait_tokens[v.vendor]
        if wait.before is None:
            # Reported, not slept: a ten-year token must not hold the run for ten years.
            pytest.skip(wait.not_waited)
        tok = wait.token
        v.recorder.add(wait.before.exchange)
        v.check("token_accepted_before_expiry", wait.before)
        v.wait_until(wait.after_deadline)
    resp = v.probe(f"Bearer {tok.value}")
    v.check("expired_token_rejected", resp)
    v.check("www_authenticate_on_401", resp)
    v.check("invalid_token_error_code", resp)


@pytest.mark.capability("refresh")
def test_refresh_issues_token_with_reset_expiry(v: VendorSession) -> None:
    tok = v.issue()
    if v.movable_clock:
        moved = min(600, v.lifetime // 2)
        v.advance_clock(moved)
    else:
        # exp and iat are whole seconds: refreshed within the second of issue, a reset exp and a kept one are equal.
        # The vendor stamped iat before its answer reached us, so one real second after that answer the reset exp
        # is at least one second later. A bounded wait (at most 1 s) no other wait of the run can stand in for:
        # the refresh must follow this token's own issue.
        moved = 1
        v.wait_until(tok.received_at + moved)
    resp = v.refresh(tok)
    v.check("refresh_issues_new_token", resp, tok)
    new = resp.json_or_none() or {}
    new_token = new.get(v.profile["refresh"]["token_field"])
    if isinstance(new_token, str):
        # As for issued tokens: surrounding whitespace cannot travel in a header (token_is_jwt reports it).
        new_token = new_token.strip()
    if isinstance(new_token, str) and jwtutil.looks_like_jwt(new_token) and jwtutil.looks_like_jwt(tok.value):
        v.check("refresh_resets_expiry", new_token, tok, moved)
        v.check("bearer_token_accepted", v.probe(f"Bearer {new_token}"))


@pytest.mark.capability("refresh")
@pytest.mark.clock
def test_refresh_works_after_access_token_expired(v: VendorSession) -> None:
    if v.profile["refresh"]["send"] != "refresh_token_field":
        pytest.skip(f"{v.vendor}: refresh presents the access token itself, so it cannot outlive it")
    if not v.movable_clock:
        pytest.skip(f"{v.vendor}: needs a movable clock (a day-long refresh token cannot be waited out)")
    tok = v.issue()
    floor = v.refresh_lifetime_min or v.lifetime + 2
    v.advance_clock(max(v.lifetime + 1, floor - 1))
    v.check("expired_token_rejected", v.probe(f"Bearer {tok.value}"))
    v.check("refresh_after_access_expiry", v.refresh(tok))


@pytest.mark.capability("refresh")
def test_refresh_token_is_not_a_bearer_token(v: VendorSession) -> None:
    tok = v.issue()
    if not tok.refresh_token:
        pytest.skip(f"{v.vendor}: this flow issues no separate refresh token")
    v.redactor.add(tok.refresh_token)
    resp = v.probe(f"Bearer {tok.refresh_token}")
    v.check("refresh_token_not_bearer", resp)
    v.check("no_secret_echo", resp, [tok.refresh_token])


@pytest.mark.capability("refresh")
def test_refresh_with_invalid_token_rejected(v: VendorSession) -> None:
    spec = v.profile["refresh"]
    if spec["send"] == "bearer_access_token":
        resp = v.http.request(spec["method"], spec["path"], headers=bearer("not-a-valid-token"))
        v.check("unauthenticated_is_401_not_403", resp)
    else:
        resp = v.send_body(spec["method"], spec["path"], {spec["field"]: "not-a-valid-refresh-token"}, spec["encoding"])
        v.check("bad_credentials_rejected", resp, documented_statuses=False)
    v.check("bad_input_no_server_error", resp)
