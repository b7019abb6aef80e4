"""Unit tests of the mocks' building blocks: clock, Authorization grammar, fault catalogue, log redaction."""

from __future__ import annotations

import pytest

from conformance.mock import faults
from conformance.mock.app import build_app
from conformance.mock.authz import AuthProblem, challenge, parse_authorization
from conformance.mock.core import Clock
from conformance.mock.faults import CATALOGUE, FAULTS, VENDORS, Policy
from conformance.mock.middleware import _redacted
from conformance.specs import claim_index

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_"


class FakeTime:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_frozen_clock_moves_only_when_told() -> None:
    real = FakeTime(1000.7)
    clock = Clock("frozen", source=real)
    assert clock.now() == 1000
    real.t += 50
    assert clock.now() == 1000
    assert clock.advance(899) == 1899
    assert clock.set(5000.2) == 5000
    real.t = 7000.0
    clock.reset()
    assert clock.now() == 7000


def test_running_clock_follows_real_time_plus_offset() -> None:
    real = FakeTime(1000.0)
    clock = Clock("running", source=real)
    real.t += 10
    assert clock.now() == 1010
    clock.advance(100)
    real.t += 1
    assert clock.now() == 1111
    clock.set(50)
    assert clock.now() == 50
    real.t += 5
    assert clock.now() == 55


def test_clock_mode_is_checked() -> None:
    with pytest.raises(ValueError, match="frozen, running"):
        Clock("paused")


ACCEPTED = [
    ([f"Bearer {TOKEN}"], TOKEN),
    ([f"bearer {TOKEN}"], TOKEN),
    ([f"BEARER {TOKEN}"], TOKEN),
    ([f"bEaReR {TOKEN}"], TOKEN),
    ([f"Bearer    {TOKEN}"], TOKEN),
    (["Bearer abc+/~-._=="], "abc+/~-._=="),
]

# (header values, presented a Bearer token?, malformed?)
REJECTED = [
    ([], False, False),
    ([""], False, True),
    (["Bearer"], True, True),
    (["Bearer "], True, True),
    ([f"Basic {TOKEN}"], False, False),
    ([f"Token {TOKEN}"], False, False),
    ([TOKEN], False, False),
    ([f"Bearer\t{TOKEN}"], True, True),
    ([f"Bearer {TOKEN} {TOKEN}"], True, True),
    ([f"Bearer {TOKEN}", f"Bearer {TOKEN}"], True, True),
    ([f"Bearer {TOKEN}é"], True, True),
    ([f"Bearer {TOKEN}\x00"], True, True),
    ([f"Bearer {'a' * 9000}"], True, True),
    (["Bearer a=b"], True, True),
    (["Bearer ,"], True, True),
]


@pytest.mark.parametrize(("values", "token"), ACCEPTED)
def test_bearer_grammar_accepts(values: list[str], token: str) -> None:
    assert parse_authorization(values, Policy()) == token


@pytest.mark.parametrize(("values", "presented", "malformed"), REJECTED)
def test_bearer_grammar_rejects(values: list[str], presented: bool, malformed: bool) -> None:
    with pytest.raises(AuthProblem) as info:
        parse_authorization(values, Policy())
    assert (info.value.presented, info.value.malformed) == (presented, malformed)
    assert TOKEN not in info.value.description


def test_grammar_faults_change_only_their_rule() -> None:
    strict_case = Policy(scheme_case_sensitive=True)
    assert parse_authorization([f"Bearer {TOKEN}"], strict_case) == TOKEN
    with pytest.raises(AuthProblem):
        parse_authorization([f"bearer {TOKEN}"], strict_case)
    one_space = Policy(single_space_only=True)
    assert parse_authorization([f"bearer {TOKEN}"], one_space) == TOKEN
    with pytest.raises(AuthProblem):
        parse_authorization([f"Bearer  {TOKEN}"], one_space)
    any_scheme = Policy(any_scheme=True)
    for value in (f"Basic {TOKEN}", f"Token {TOKEN}", TOKEN):
        assert parse_authorization([value], any_scheme) == TOKEN
    with pytest.raises(AuthProblem):
        parse_authorization([f"Basic {TOKEN} x"], any_scheme)


def test_challenge_carries_error_only_when_given() -> None:
    assert challenge("klavi") == 'Bearer realm="klavi"'
    assert challenge("klavi", "invalid_token", 'The "token" expired\\') == (
        'Bearer realm="klavi", error="invalid_token", error_description="The token expired"'
    )


def test_catalogue_is_well_formed() -> None:
    index = claim_index()
    assert len(FAULTS) == len(CATALOGUE)
    for fault in CATALOGUE:
        assert fault.kind in ("conformance", "infrastructure", "configuration")
        assert fault.vendors and set(fault.vendors) <= set(VENDORS)
        unknown = [c for c in fault.claims if c not in index]
        assert not unknown, f"{fault.name} names unknown claims {unknown}"
        assert bool(fault.claims) == (fault.kind == "conformance"), fault.name
        assert fault.changes and set(fault.changes) <= set(Policy.__dataclass_fields__), fault.name
        assert faults.policy([fault.name]) != Policy(), fault.name
        # A fault's claims belong to the vendors it applies to (or are shared RFC/convention claims).
        for claim in fault.claims:
            owner = index[claim].vendor
            assert owner == "_rfc" or owner in fault.vendors, (fault.name, claim)


def test_faults_compose_and_take_parameters() -> None:
    policy = faults.policy(["never-expire", "no-www-authenticate", "slow-responses=0.05", "rate-limit-429=5"])
    assert not policy.check_expiry and not policy.www_authenticate
    assert policy.delay == 0.05 and policy.rate_limit_every == 5
    assert faults.policy(["intermittent-503"]).unavailable_every == 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "unknown fault 'nope'"),
        ("never-expire=3", "takes no value"),
        ("rate-limit-429=0", "needs a count"),
        ("rate-limit-429=x", "needs a count"),
        ("slow-responses=nan", "number of seconds"),
        ("slow-responses=-1", "number of seconds"),
    ],
)
def test_bad_fault_specs_are_named(spec: str, message: str) -> None:
    with pytest.raises(faults.FaultError, match=message):
        faults.validate([spec], "klavi")


def test_fault_for_another_vendor_is_refused() -> None:
    with pytest.raises(faults.FaultError, match="does not apply to klavi"):
        faults.validate(["multipart-rejected"], "klavi")
    assert faults.applicable(["multipart-rejected", "never-expire"], "klavi") == ("never-expire",)


def test_log_redaction_by_name_and_value() -> None:
    entry = {
        "request": {"headers": {"authorization": "Bearer abc.def.ghi"}, "body": {"password": "hunter2", "name": "x"}},
        "response": {
            "body": {
                "access_token": "eyJa.eyJb.c",
                "note": "made with eyJa.eyJb.c and canary-secret",
                "id": "key_1",
                "key": "ks_live_abc",
                "expireIn": 1800,
            }
        },
    }
    out = _redacted(entry, ["canary-secret"])
    text = repr(out)
    for secret in ("abc.def.ghi", "hunter2", "eyJa.eyJb.c", "canary-secret", "ks_live_abc"):
        assert secret not in text
    assert out["request"]["headers"]["authorization"] == "Bearer [redacted]"
    assert out["response"]["body"]["expireIn"] == 1800 and out["response"]["body"]["id"] == "key_1"
    assert _redacted({"authorization": "garbage"}, [])["authorization"] == "[redacted]"


def test_apps_refuse_bad_configuration() -> None:
    from conformance.mock import MockError

    with pytest.raises(MockError, match="unknown vendor"):
        build_app("acme")
    with pytest.raises(MockError, match="no credential 'pin'"):
        build_app("klavi", credentials={"pin": "1"})
    with pytest.raises(MockError, match="lifetime"):
        build_app("klavi", lifetime=0)
    with pytest.raises(MockError, match="unknown fault"):
        build_app("klavi", faults=["bogus"])
    with pytest.raises(MockError, match="clock mode"):
        build_app("klavi", clock="paused")
