"""Each fault changes exactly the behaviour it names: a probe per fault, run with and without every fault."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator

import jwt
import pytest
import requests

from conformance.cookies import cookie_header, cookies_set
from conformance.mock import CATALOGUE, FAULTS, VENDORS, start_mocks
from conformance.mock.client import MockClient, claims
from conformance.specs import load_profile

KLAVI_401 = {"statusCode": 401, "error": "Unauthorized", "message": "Invalid accessKey or secretKey"}
DAY = 86400


def lifetime(c: MockClient) -> int:
    return c.profile["lifetimes"]["access"]["seconds"]


def secret_field(c: MockClient) -> str:
    return next(f for f, n in c.profile["issue"]["fields"].items() if c.profile["credentials"][n])


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def altered(token: str) -> str:
    head, payload, sig = token.split(".")
    return f"{head}.{payload}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"


def ks_uat(c: MockClient, *, restricted: bool = False) -> str:
    creds = c.server.credentials
    p = "restricted_" if restricted else ""
    return c.issued(email=creds[f"{p}email"], password=creds[f"{p}password"])["access_token"]


def ks_key(c: MockClient) -> dict:
    return c.request("POST", "/v1/api-keys", token=ks_uat(c), json={"name": "probe"}).json()


def refresh(c: MockClient, refresh_token: str) -> requests.Response:
    return c.send_body("POST", "/getaccesstokenfromrefreshtoken", {"refresh_token": refresh_token}, "form")


def json_or_none(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


# One probe per fault: True when the faulty behaviour is observed. Named after the fault it detects.


def auth_ignored(c):
    return c.probe().status_code == 200


def accept_other_scheme(c):
    t = c.token()
    return any(c.probe(authorization=a).status_code == 200 for a in (f"Basic {t}", f"Token {t}", t))


def scheme_case_sensitive(c):
    t = c.token()
    return any(c.probe(authorization=f"{s} {t}").status_code != 200 for s in ("bearer", "BEARER"))


def single_space_only(c):
    return c.probe(authorization=f"Bearer   {c.token()}").status_code != 200


def no_www_authenticate(c):
    r = c.probe()
    return r.status_code == 401 and "www-authenticate" not in r.headers


def never_expire(c):
    t = c.token()
    c.server.advance(lifetime(c) + 1)
    return c.probe(t).status_code == 200


def signature_not_checked(c):
    return c.probe(altered(c.token())).status_code == 200


def alg_none_accepted(c):
    payload = c.token().split(".")[1]
    return c.probe(f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.").status_code == 200


def wrong_lifetime(c):
    body = c.issued()
    t = claims(body[c.profile["issue"]["token_field"]])
    advertised = body.get(c.profile["issue"].get("lifetime_field"))
    # An unreadable advertised value is lifetime-wrong-type's finding, not this one's.
    readable = type(advertised) is int or (isinstance(advertised, str) and advertised.isdigit())
    return t["exp"] - t["iat"] != lifetime(c) or (readable and int(advertised) != lifetime(c))


def lifetime_wrong_type(c):
    value = c.issued()[c.profile["issue"]["lifetime_field"]]
    digits = "numeric_string" in c.profile["issue"]["lifetime_types"] and isinstance(value, str) and value.isdigit()
    return not (type(value) is int or digits)


def wrong_401_body(c):
    r = c.issue(**{secret_field(c): "wrong"})
    return r.status_code != 401 or json_or_none(r) != KLAVI_401


def server_error_on_bad_input(c):
    spec = c.profile["issue"]
    ctype = "application/json" if spec["encoding"] == "json" else "multipart/form-data; boundary=x"
    responses = [
        c.request("POST", spec["path"], data=b"{\xff", headers={"Content-Type": ctype}),
        c.issue(**{secret_field(c): "wrong"}),
        c.probe(authorization="Bearer"),
    ]
    return any(r.status_code >= 500 for r in responses)


def bad_credentials_accepted(c):
    return c.issue(**{secret_field(c): "wrong"}).status_code == 200


def wrong_credentials_accepted(c):
    # Wrong values buy a token while a missing field is still refused (bad-credentials-accepted takes both).
    return (
        c.issue(**{secret_field(c): "wrong"}).status_code == 200
        and c.issue(**{secret_field(c): None}).status_code >= 400
    )


def cookie_only_auth(c):
    cookies = cookies_set([c.issue().headers.items()])
    return bool(cookies) and c.probe(headers={"Cookie": cookie_header(cookies)}).status_code == 200


def refresh_same_expiry(c):
    if c.server.vendor == "knowledgestack":
        old = ks_uat(c)
        c.server.advance(100)
        new = c.request("POST", "/v1/auth/uat", token=old).json()["access_token"]
    else:
        pair = c.issued()
        if "refresh_token" not in pair:
            return False
        old = pair["access_token"]
        c.server.advance(100)
        new = refresh(c, pair["refresh_token"]).json()["access_token"]
    return claims(new)["exp"] == claims(old)["exp"]


def refresh_token_as_bearer(c):
    pair = c.issued()
    return "refresh_token" in pair and c.probe(pair["refresh_token"]).status_code == 200


def refresh_token_short(c):
    pair = c.issued()
    if "refresh_token" not in pair:
        return False
    t = claims(pair["refresh_token"])
    return t["exp"] - t["iat"] < DAY


def refresh_token_missing(c):
    return "refresh_token" not in c.issued()


def multipart_rejected(c):
    return c.issue(encoding="multipart").status_code != 200


def wrong_encoding_accepted(c):
    return c.issue(encoding="json").status_code == 200


def wrong_content_type(c):
    r = c.issue()
    return r.status_code == 200 and not r.headers["content-type"].startswith("application/json")


def revoked_key_works(c):
    key = ks_key(c)
    c.request("DELETE", f"/v1/api-keys/{key['id']}", token=ks_uat(c))
    return c.probe(key["key"]).status_code == 200


def list_leaks_keys(c):
    key, uat = ks_key(c), ks_uat(c)
    listed = c.request("GET", "/v1/api-keys", token=uat)
    one = c.request("GET", f"/v1/api-keys/{key['id']}", token=uat)
    return key["key"] in listed.text or key["key"] in one.text


def key_expires(c):
    key = ks_key(c)
    c.server.advance(31 * DAY)
    return c.probe(key["key"]).status_code != 200


def double_delete_ok(c):
    key, uat = ks_key(c), ks_uat(c)
    c.request("DELETE", f"/v1/api-keys/{key['id']}", token=uat)
    return c.request("DELETE", f"/v1/api-keys/{key['id']}", token=uat).status_code == 204


def signout_noop(c):
    t = ks_uat(c)
    c.request("POST", "/v1/auth/signout", token=t)
    return c.probe(t).status_code == 200


def swap_401_403(c):
    if c.probe().status_code == 403:
        return True
    if c.server.vendor == "knowledgestack":
        return c.request("GET", "/v1/api-keys", token=ks_uat(c, restricted=True)).status_code == 401
    return False


def sso_open_redirect(c):
    body = {"tenant_id": c.server.credentials["sso_tenant_id"], "redirect_uri": "https://attacker.example/callback"}
    return c.request("POST", "/v1/auth/sso/initiate", json=body).status_code == 200


def token_echo(c):
    bad = altered(c.token())
    r = c.probe(bad)
    return r.status_code == 401 and bad in r.text


def malformed_authorization_accepted(c):
    t = c.token()
    return any(c.probe(authorization=a).status_code == 200 for a in (f"Bearer\t{t}", f"Bearer {t} x", f"Bearer {t},"))


def challenge_without_error(c):
    r = c.probe("not-a-valid-token")
    return (
        r.status_code == 401
        and "www-authenticate" in r.headers
        and "invalid_token" not in r.headers["www-authenticate"]
    )


def error_without_credentials(c):
    r = c.probe()
    return r.status_code == 401 and "error=" in r.headers.get("www-authenticate", "")


def errors_not_json(c):
    r = c.probe()
    return 400 <= r.status_code < 500 and (
        not r.headers["content-type"].startswith("application/json") or json_or_none(r) is None
    )


def valid_token_rejected(c):
    return c.probe(c.token()).status_code != 200


def opaque_tokens(c):
    try:
        claims(c.token())
    except jwt.PyJWTError:
        return True
    return False


def token_field_renamed(c):
    r = c.issue()
    return r.status_code == 200 and c.profile["issue"]["token_field"] not in r.json()


def api_key_not_bearer(c):
    return c.probe(ks_key(c)["key"]).status_code != 200


def key_not_returned(c):
    r = c.request("POST", "/v1/api-keys", token=ks_uat(c), json={"name": "probe"})
    return r.status_code == 201 and "key" not in r.json()


def key_not_listed(c):
    uat = ks_uat(c)
    key_id = c.request("POST", "/v1/api-keys", token=uat, json={"name": "probe"}).json()["id"]
    return key_id not in {k["id"] for k in c.request("GET", "/v1/api-keys", token=uat).json()["data"]}


def key_list_forbidden(c):
    return c.request("GET", "/v1/api-keys", token=ks_uat(c)).status_code == 403


def key_delete_forbidden(c):
    key, uat = ks_key(c), ks_uat(c)
    return c.request("DELETE", f"/v1/api-keys/{key['id']}", token=uat).status_code == 403


def signout_needs_body(c):
    return c.request("POST", "/v1/auth/signout", token=ks_uat(c)).status_code == 400


def sso_refused(c):
    creds = c.server.credentials
    body = {"tenant_id": creds["sso_tenant_id"], "redirect_uri": creds["sso_redirect_uri"]}
    return c.request("POST", "/v1/auth/sso/initiate", json=body).status_code != 200


def intermittent_503(c):
    statuses = [c.probe() for _ in range(4)]
    return any(r.status_code == 503 and r.headers.get("retry-after") == "0" for r in statuses)


def rate_limit_429(c):
    statuses = [c.probe() for _ in range(4)]
    return any(r.status_code == 429 and r.headers.get("retry-after") == "1" for r in statuses)


def slow_responses(c):
    start = time.perf_counter()
    c.probe()
    return time.perf_counter() - start >= 0.2


def drop_connection(c):
    for _ in range(4):
        try:
            c.probe()
        except requests.ConnectionError:
            return True
    return False


# --- robust ---
def _payload_bytes(token: str) -> bytes:
    parts = token.strip().split(".")
    if len(parts) != 3:
        return b""
    return base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))


def _malformed_but_accepted(c: MockClient, shape: Callable[[str, bytes], bool]) -> bool:
    token = c.token()
    return shape(token, _payload_bytes(token)) and c.probe(token.strip()).status_code == 200


def jwt_payload_not_json(c):
    return _malformed_but_accepted(c, lambda t, p: p.startswith(b"not json"))


def jwt_payload_list(c):
    return _malformed_but_accepted(c, lambda t, p: p.startswith(b"["))


def jwt_exp_infinite(c):
    return _malformed_but_accepted(c, lambda t, p: b'"exp":1e999' in p)


def jwt_exp_nan(c):
    return _malformed_but_accepted(c, lambda t, p: b'"exp":NaN' in p)


def jwt_payload_deep(c):
    return _malformed_but_accepted(c, lambda t, p: b"[" * 1000 in p)


def token_trailing_newline(c):
    return _malformed_but_accepted(c, lambda t, p: t.endswith("\n"))


def gateway_503(c):
    answers = [c.probe() for _ in range(4)]
    return any(r.status_code == 503 and r.headers["content-type"].startswith("text/html") for r in answers)


def _breaks(c: MockClient, error: type[Exception]) -> bool:
    for _ in range(6):
        try:
            c.probe()
        except error:
            return True
    return False


def truncated_body(c):
    return _breaks(c, requests.exceptions.ChunkedEncodingError)


def broken_gzip(c):
    return _breaks(c, requests.exceptions.ContentDecodingError)


def probe_missing(c):
    return c.probe(c.token()).status_code == 404


PROBES: dict[str, Callable[[MockClient], bool]] = {name: globals()[name.replace("-", "_")] for name in FAULTS}
CONFORMANCE = [f.name for f in CATALOGUE if f.kind == "conformance"]
INFRASTRUCTURE = [f.name for f in CATALOGUE if f.kind == "infrastructure"]

# Other probes a fault legitimately trips too: the behaviours overlap by nature, not by accident.
OVERLAP = {
    "auth-ignored": {
        "accept-other-scheme",
        "never-expire",
        "signature-not-checked",
        "alg-none-accepted",
        "refresh-token-as-bearer",
        "revoked-key-works",
        "signout-noop",
        "malformed-authorization-accepted",
    },
    "server-error-on-bad-input": {"wrong-401-body"},
    "bad-credentials-accepted": {"wrong-401-body"},
    "wrong-credentials-accepted": {"bad-credentials-accepted", "wrong-401-body"},
    # A valid token that never works also fails every "this token should work" probe.
    "valid-token-rejected": {"scheme-case-sensitive", "single-space-only"},
    "api-key-not-bearer": {"key-expires"},
    # A refused sign-out or deletion leaves the token or key working.
    "signout-needs-body": {"signout-noop"},
    "key-delete-forbidden": {"revoked-key-works"},
    # --- robust ---
    # A token whose payload cannot be read looks opaque to a probe that decodes it; an unreadable exp defeats the
    # probes that compare lifetimes (NaN equals nothing, so only the infinite exp looks "kept" after a refresh).
    "jwt-payload-not-json": {"opaque-tokens"},
    "jwt-payload-list": {"opaque-tokens"},
    "jwt-payload-deep": {"opaque-tokens"},
    "token-trailing-newline": {"opaque-tokens"},
    "jwt-exp-infinite": {"wrong-lifetime", "refresh-same-expiry"},
    "jwt-exp-nan": {"wrong-lifetime"},
}


def probes_for(vendor: str) -> list[str]:
    return [name for name in CONFORMANCE if vendor in FAULTS[name].vendors]


@pytest.fixture
def client_for(servers) -> Iterator[Callable[..., MockClient]]:
    made: list[MockClient] = []

    def make(vendor: str, faults: list[str]) -> MockClient:
        server = servers[vendor]
        server.reset(faults=True)
        server.set_faults(faults)
        client = MockClient(server)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
        client.server.reset(faults=True)


def test_every_fault_has_a_probe() -> None:
    assert set(PROBES) == set(FAULTS)
    assert all(callable(p) for p in PROBES.values())


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_faithful_mock_trips_no_probe(client_for, vendor: str) -> None:
    client = client_for(vendor, [])
    tripped = [name for name in probes_for(vendor) if PROBES[name](client)]
    assert tripped == []
    assert client.server.info()["internal_errors"] == 0


CASES = [(f.name, v) for f in CATALOGUE if f.kind == "conformance" for v in f.vendors]


@pytest.mark.parametrize(("fault", "vendor"), CASES, ids=[f"{f}-{v}" for f, v in CASES])
def test_fault_changes_exactly_the_behaviour_it_names(client_for, fault: str, vendor: str) -> None:
    client = client_for(vendor, [fault])
    applicable = probes_for(vendor)
    tripped = set()
    for name in applicable:
        client.server.reset()
        client.server.set_faults([fault])
        if name == fault:
            observed = PROBES[name](client)
        else:
            # Another fault's probe may not even get through (no token to read, no key made): not tripped.
            try:
                observed = PROBES[name](client)
            except (KeyError, ValueError, IndexError, jwt.PyJWTError):
                observed = False
        if observed:
            tripped.add(name)
    expected = ({fault} | OVERLAP.get(fault, set())) & set(applicable)
    assert tripped == expected, f"{fault} at {vendor}: tripped {sorted(tripped)}, expected {sorted(expected)}"
    assert client.server.info()["internal_errors"] == 0


@pytest.mark.parametrize("fault", INFRASTRUCTURE)
def test_infrastructure_fault_is_observed_and_spares_the_control_api(client_for, fault: str) -> None:
    assert not PROBES[fault](client_for("opsnow", []))
    client = client_for("opsnow", [fault])
    assert PROBES[fault](client)
    for _ in range(6):
        assert client.server.info()["vendor"] == "opsnow"


def test_intermittent_503_hits_every_second_request_only(client_for) -> None:
    client = client_for("klavi", ["intermittent-503"])
    statuses = [client.probe().status_code for _ in range(6)]
    assert statuses == [401, 503] * 3
    assert client.probe().json()["error"]


def test_rate_limit_and_drop_count_requests(client_for) -> None:
    client = client_for("klavi", ["rate-limit-429=2"])
    assert [client.probe().status_code for _ in range(4)] == [401, 429, 401, 429]
    client = client_for("klavi", ["drop-connection"])
    outcomes = []
    for _ in range(6):
        try:
            outcomes.append(client.probe().status_code)
        except requests.ConnectionError:
            outcomes.append("dropped")
    assert outcomes == [401, 401, "dropped", 401, 401, "dropped"]
    assert [e.get("fault") for e in client.server.log()][-1] == "drop-connection"


def test_drop_connection_over_tls(client_for) -> None:
    client = client_for("klearstack", ["drop-connection=1"])
    with pytest.raises(requests.ConnectionError):
        client.probe()


def test_slow_responses_take_a_parameter(client_for) -> None:
    client = client_for("klavi", ["slow-responses=0.02"])
    start = time.perf_counter()
    client.probe()
    assert 0.02 <= time.perf_counter() - start < 0.2


def test_faults_compose(client_for) -> None:
    client = client_for("knowledgestack", ["never-expire", "no-www-authenticate", "list-leaks-keys"])
    assert never_expire(client) and no_www_authenticate(client) and list_leaks_keys(client)
    assert not signout_noop(client) and not auth_ignored(client)


def test_faults_given_at_start_apply_per_vendor() -> None:
    servers = start_mocks(["klavi", "klearstack"], faults=["wrong-401-body", "never-expire"])
    try:
        assert servers["klavi"].info()["faults"] == ["wrong-401-body", "never-expire"]
        assert servers["klearstack"].info()["faults"] == ["never-expire"]
        assert wrong_401_body(MockClient(servers["klavi"]))
    finally:
        for server in servers.values():
            server.stop()


def test_profiles_name_every_documented_lifetime() -> None:
    # wrong-lifetime's probe compares against these; a profile change must not silently blind it.
    assert {v: load_profile(v)["lifetimes"]["access"]["seconds"] for v in VENDORS} == {
        "klearstack": 900,
        "klavi": 1800,
        "opsnow": 3600,
        "knowledgestack": 3600,
    }


@pytest.mark.parametrize("vendor", FAULTS["opaque-tokens"].vendors)
def test_an_opaque_token_outlives_a_reset_like_a_jwt(client_for, vendor: str) -> None:
    """The suite shares one token across scenarios, each of which resets the mock: an opaque one must survive it."""
    client = client_for(vendor, ["opaque-tokens"])
    token = client.token()
    client.server.reset()
    client.server.set_faults(["opaque-tokens"])
    assert client.probe(token).status_code == 200
