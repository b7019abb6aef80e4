"""The faithful mocks over real sockets: the behaviour behind every claim they serve, and robustness."""

from __future__ import annotations

import base64
import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import jwt
import pytest
import requests

from conformance.mock import VENDORS, MockServer
from conformance.mock.app import MockError
from conformance.mock.client import MockClient, claims
from conformance.specs import load_profile

JSON_VENDORS = ("klavi", "opsnow", "knowledgestack")
LIFETIME = {v: load_profile(v)["lifetimes"]["access"]["seconds"] for v in VENDORS}
BAD_FIELD_STATUS = {"klearstack": 400, "klavi": 400, "opsnow": 400, "knowledgestack": 422}
KLAVI_401 = {"statusCode": 401, "error": "Unauthorized", "message": "Invalid accessKey or secretKey"}


@pytest.fixture
def mock(servers: dict[str, MockServer]) -> Iterator[Callable[[str], MockClient]]:
    clients: list[MockClient] = []

    def make(vendor: str) -> MockClient:
        server = servers[vendor]
        server.reset(faults=True)
        client = MockClient(server)
        clients.append(client)
        return client

    yield make
    for client in clients:
        assert client.server.info()["internal_errors"] == 0, "the mock raised internally (see /_mock/log)"
        client.close()


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_401(response, *, presented: bool, realm: str, secret: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer realm="{realm}"')
    assert ('error="invalid_token"' in challenge) is presented, challenge
    if secret:
        assert secret not in response.text and secret not in challenge


# --- issuance, lifetimes, expiry (every vendor) ---------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_issued_token_is_an_hs256_jwt_with_the_documented_lifetime(mock, vendor: str) -> None:
    client = mock(vendor)
    response = client.issue()
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    token = response.json()[client.profile["issue"]["token_field"]]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    c = claims(token)
    assert {"iat", "exp", "jti", "sub", "typ"} <= set(c) and c["typ"] == "access"
    assert c["exp"] - c["iat"] == LIFETIME[vendor]
    assert c["iat"] == client.server.now()
    field = client.profile["issue"].get("lifetime_field")
    if field:
        assert response.json()[field] == LIFETIME[vendor] and type(response.json()[field]) is int
    assert token in client.server.issued()


@pytest.mark.parametrize("vendor", VENDORS)
def test_token_accepted_until_exp_and_rejected_from_exp_on(mock, vendor: str) -> None:
    client = mock(vendor)
    token = client.token()
    assert client.probe(token).status_code == 200
    client.server.advance(LIFETIME[vendor] - 1)
    assert client.probe(token).status_code == 200
    client.server.advance(1)
    assert_401(client.probe(token), presented=True, realm=vendor, secret=token)
    client.server.advance(1)
    response = client.probe(token)
    assert_401(response, presented=True, realm=vendor, secret=token)
    assert "expired" in response.headers["www-authenticate"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_missing_and_invalid_tokens_get_401_with_the_right_challenge(mock, vendor: str) -> None:
    client = mock(vendor)
    assert_401(client.probe(), presented=False, realm=vendor)
    assert client.probe().json()["error"] != "invalid_token"
    assert_401(client.probe(authorization="Basic dXNlcjpwYXNz"), presented=False, realm=vendor)
    assert_401(client.probe("not-a-jwt"), presented=True, realm=vendor, secret="not-a-jwt")


@pytest.mark.parametrize("vendor", VENDORS)
def test_bad_credentials_get_401_and_no_token(mock, vendor: str) -> None:
    client = mock(vendor)
    secret_field = next(f for f, n in client.profile["issue"]["fields"].items() if client.profile["credentials"][n])
    response = client.issue(**{secret_field: "wrong-secret-value"})
    assert response.status_code == 401
    assert "wrong-secret-value" not in response.text
    assert "eyJ" not in response.text
    assert response.headers["www-authenticate"] == f'Bearer realm="{vendor}"'
    if vendor == "klavi":
        assert response.json() == KLAVI_401
    else:
        assert response.json()["error"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_missing_or_non_string_fields_are_client_errors(mock, vendor: str) -> None:
    client = mock(vendor)
    first = next(iter(client.profile["issue"]["fields"]))
    status = BAD_FIELD_STATUS[vendor]
    assert client.issue(**{first: None}).status_code == status
    if vendor != "klearstack":
        assert client.issue(**{first: 12345}).status_code == status
        assert client.issue(**{first: ["a"]}).status_code == status
    empty = client.issue(**{first: ""})
    assert empty.status_code in (400, 401, 422)
    assert client.issue(**dict.fromkeys(client.profile["issue"]["fields"])).status_code == status


def test_klavi_empty_strings_get_the_documented_401(mock) -> None:
    client = mock("klavi")
    assert client.issue(accessKey="", secretKey="").json() == KLAVI_401


@pytest.mark.parametrize("vendor", JSON_VENDORS)
def test_json_vendors_refuse_other_media_types_and_bad_json(mock, vendor: str) -> None:
    client = mock(vendor)
    path = client.profile["issue"]["path"]
    fields = client.credential_fields()
    cases = [
        ({"data": fields}, 415),
        ({"data": json.dumps(fields), "headers": {"Content-Type": "text/plain"}}, 415),
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"data": b'{"a": "\xff"}', "headers": {"Content-Type": "application/json"}}, 400),
        ({"data": b"[1, 2]", "headers": {"Content-Type": "application/json"}}, 400),
        ({"data": b'{"a": NaN}', "headers": {"Content-Type": "application/json"}}, 400),
        ({"data": b"[" * 100000, "headers": {"Content-Type": "application/json"}}, 400),
        ({}, 400),
        ({"data": b"x" * (1024 * 1024 + 1), "headers": {"Content-Type": "application/json"}}, 413),
    ]
    for kwargs, status in cases:
        response = client.request("POST", path, **kwargs)
        assert response.status_code == status, (kwargs.get("headers"), response.text)
        assert response.json()["error"]
    # The charset parameter does not matter.
    charset = {"Content-Type": "application/json; charset=utf-8"}
    ok = client.request("POST", path, data=json.dumps(fields), headers=charset)
    assert ok.status_code == 200


@pytest.mark.parametrize("vendor", VENDORS)
def test_oversize_body_is_413_even_where_no_body_is_read(mock, vendor: str) -> None:
    client = mock(vendor)
    spec = client.profile["probe"]
    response = client.request(spec["method"], spec["path"], token=client.token(), data=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413 and response.json()["error"]


def test_chunked_oversize_body_is_413(mock) -> None:
    client = mock("klavi")

    def chunks():
        for _ in range(20):
            yield b" " * 65536

    response = client.request("POST", "/monitor/v1/auth", data=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


# --- Authorization grammar over the wire ----------------------------------------------------------------

GOOD_SCHEMES = ["Bearer {}", "bearer {}", "BEARER {}", "BeArEr {}", "Bearer  {}", "Bearer     {}"]
BAD_HEADERS = [
    # (header lines, a Bearer token was presented?)
    ([], False),
    ([("Authorization", "")], False),
    ([("Authorization", "Bearer")], True),
    ([("Authorization", "Basic {}")], False),
    ([("Authorization", "Token {}")], False),
    ([("Authorization", "{}")], False),
    ([("Authorization", "Bearer\t{}")], True),
    ([("Authorization", "Bearer {} {}")], True),
    ([("Authorization", "Bearer {}"), ("Authorization", "Bearer {}")], True),
    ([("Authorization", b"Bearer {}" + "é".encode("latin-1"))], True),
    ([("Authorization", b"Bearer {}" + "é".encode())], True),
    ([("Authorization", "Bearer {}\x01")], True),
    ([("Authorization", "Bearer " + "A" * 10000)], True),
    ([("Authorization", "Bearer {}x")], True),
]


@pytest.mark.parametrize("vendor", VENDORS)
def test_bearer_scheme_is_case_insensitive_and_allows_several_spaces(mock, vendor: str) -> None:
    client = mock(vendor)
    token = client.token()
    for pattern in GOOD_SCHEMES:
        assert client.probe(authorization=pattern.format(token)).status_code == 200, pattern


@pytest.mark.parametrize("vendor", VENDORS)
def test_malformed_authorization_headers_get_401_never_5xx(mock, vendor: str) -> None:
    client = mock(vendor)
    token = client.token()
    spec = client.profile["probe"]
    for lines, presented in BAD_HEADERS:
        headers = [
            (n, v.replace(b"{}", token.encode()) if isinstance(v, bytes) else v.replace("{}", token)) for n, v in lines
        ]
        status, response_headers, body = client.raw(spec["method"], spec["path"], headers)
        assert status == 401, (lines, status, body)
        assert json.loads(body)["error"]
        challenge = response_headers["www-authenticate"]
        assert challenge.startswith(f'Bearer realm="{vendor}"')
        assert ('error="invalid_token"' in challenge) is presented, (lines, challenge)
        assert token.encode() not in body and token not in challenge


# --- JWT tampering --------------------------------------------------------------------------------------


def tampered(token: str) -> dict[str, str]:
    header, payload, signature = token.split(".")
    c = claims(token)
    far = {**c, "exp": c["exp"] + 10**6}
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return {
        "altered signature": f"{header}.{payload}.{flipped}",
        "stripped signature": f"{header}.{payload}.",
        "no signature part": f"{header}.{payload}",
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "alg None": f"{b64({'alg': 'None', 'typ': 'JWT'})}.{payload}.",
        "edited exp, old signature": f"{header}.{b64(far)}.{signature}",
        "other key": jwt.encode(c, "another-secret-of-thirty-two-bytes!", algorithm="HS256"),
        "weak key": jwt.encode(c, "secret", algorithm="HS256"),
        "HS512": jwt.encode(c, "another-secret-of-sixty-four-bytes-for-hs512-is-what-we-need-ok!!", algorithm="HS512"),
        "refresh typ": jwt.encode({**c, "typ": "refresh"}, "x" * 32, algorithm="HS256"),
    }


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("vendor", VENDORS)
def test_tampered_jwts_are_rejected(mock, vendor: str) -> None:
    client = mock(vendor)
    token = client.token()
    for name, bad in tampered(token).items():
        assert_401(client.probe(bad), presented=True, realm=vendor, secret=bad), name
    assert client.probe(token).status_code == 200


def test_a_token_from_one_vendor_never_works_at_another(mock) -> None:
    clients = {v: mock(v) for v in VENDORS}
    tokens = {v: c.token() for v, c in clients.items()}
    for vendor, client in clients.items():
        for other, token in tokens.items():
            assert client.probe(token).status_code == (200 if other == vendor else 401), (vendor, other)


# --- KlearStack -----------------------------------------------------------------------------------------


def refresh(client: MockClient, token: str):  # type: ignore[no-untyped-def]
    return client.send_body("POST", "/getaccesstokenfromrefreshtoken", {"refresh_token": token}, "form")


def test_klearstack_pair_and_refresh(mock) -> None:
    client = mock("klearstack")
    pair = client.issued()
    assert set(pair) == {"access_token", "refresh_token"}
    refresh = claims(pair["refresh_token"])
    assert refresh["typ"] == "refresh" and refresh["exp"] - refresh["iat"] >= 86400
    client.server.advance(600)
    for encoding in ("form", "multipart"):
        response = client.send_body(
            "POST", "/getaccesstokenfromrefreshtoken", {"refresh_token": pair["refresh_token"]}, encoding
        )
        assert response.status_code == 200, response.text
        new = response.json()["access_token"]
        assert new != pair["access_token"]
        c = claims(new)
        assert c["iat"] == client.server.now() and c["exp"] - c["iat"] == 900
        assert c["exp"] > claims(pair["access_token"])["exp"]
        assert client.probe(new).status_code == 200


def test_klearstack_refresh_token_lives_at_least_a_day(mock) -> None:
    client = mock("klearstack")
    pair = client.issued()
    client.server.advance(86400 - 1)
    assert client.probe(pair["access_token"]).status_code == 401
    assert refresh(client, pair["refresh_token"]).status_code == 200
    client.server.advance(86400)
    expired = refresh(client, pair["refresh_token"])
    assert expired.status_code == 401 and "eyJ" not in expired.text


def test_klearstack_tokens_are_not_interchangeable(mock) -> None:
    client = mock("klearstack")
    pair = client.issued()
    assert_401(client.probe(pair["refresh_token"]), presented=True, realm="klearstack", secret=pair["refresh_token"])
    as_refresh = refresh(client, pair["access_token"])
    assert as_refresh.status_code == 401
    for bad in ("", None):
        fields = {} if bad is None else {"refresh_token": bad}
        assert client.send_body("POST", "/getaccesstokenfromrefreshtoken", fields, "form").status_code == 400


def test_klearstack_reads_form_data_only(mock) -> None:
    client = mock("klearstack")
    assert client.issue(encoding="form").status_code == 200
    assert client.issue(encoding="multipart").status_code == 200
    json_body = client.issue(encoding="json")
    assert json_body.status_code == 415 and json_body.json()["error"]
    broken = client.request(
        "POST",
        "/get_access_token",
        data=b"--x\r\nnonsense",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert broken.status_code in (400, 401)
    no_boundary = client.request(
        "POST", "/get_access_token", data=b"a", headers={"Content-Type": "multipart/form-data"}
    )
    assert no_boundary.status_code == 400
    not_utf8 = client.request(
        "POST",
        "/get_access_token",
        data=b"username=%ff&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert not_utf8.status_code == 400
    twice = client.request(
        "POST",
        "/get_access_token",
        data="username=a&username=b&password=c",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert twice.status_code == 400
    big = client.request("POST", "/get_access_token", data={"username": "u" * (1 << 20), "password": "p"})
    assert big.status_code == 413


def test_klearstack_tls_certificate_is_made_for_loopback(mock) -> None:
    client = mock("klearstack")
    assert client.server.tls and client.server.base_url.startswith("https://127.0.0.1:")
    assert client.issue().status_code == 200  # verified against the mock's own CA
    response = client.session.get(f"https://localhost:{client.server.port}/_mock/info", verify=client.server.ca_path)
    assert response.json()["tls"] is True


# --- Klavi and OpsNow -----------------------------------------------------------------------------------


def test_klavi_documented_shapes(mock) -> None:
    client = mock("klavi")
    body = client.issued()
    assert set(body) == {"accessToken", "expireIn"} and body["expireIn"] == 1800
    assert client.probe(body["accessToken"]).json() == {"reports": []}


def test_opsnow_documented_shapes(mock) -> None:
    client = mock("opsnow")
    body = client.issued()
    assert set(body) == {"accessToken", "expiresIn"} and body["expiresIn"] == 3600
    me = client.probe(body["accessToken"]).json()
    assert set(me) == {"id", "email"}


# --- Knowledge Stack ------------------------------------------------------------------------------------


def ks_sign_in(client: MockClient, *, restricted: bool = False) -> str:
    creds = client.server.credentials
    prefix = "restricted_" if restricted else ""
    body = client.issued(email=creds[f"{prefix}email"], password=creds[f"{prefix}password"])
    assert body["token_type"] == "bearer"
    return body["access_token"]


def test_knowledgestack_uat_refresh_gives_a_fresh_expiry(mock) -> None:
    client = mock("knowledgestack")
    token = ks_sign_in(client)
    client.server.advance(1000)
    response = client.request("POST", "/v1/auth/uat", token=token)
    assert response.status_code == 200 and response.json()["token_type"] == "bearer"
    new = response.json()["access_token"]
    assert claims(new)["exp"] == client.server.now() + 3600 > claims(token)["exp"]
    client.server.advance(2600)
    assert client.probe(token).status_code == 401
    assert client.probe(new).status_code == 200
    assert client.request("POST", "/v1/auth/uat").status_code == 401


def test_knowledgestack_signout_invalidates_only_that_token(mock) -> None:
    client = mock("knowledgestack")
    first, second = ks_sign_in(client), ks_sign_in(client)
    response = client.request("POST", "/v1/auth/signout", token=first)
    assert response.status_code == 204 and not response.content
    assert_401(client.probe(first), presented=True, realm="knowledgestack", secret=first)
    assert client.request("POST", "/v1/auth/signout", token=first).status_code == 401
    assert client.probe(second).status_code == 200
    assert client.request("POST", "/v1/auth/signout").status_code == 401


def test_knowledgestack_restricted_user_gets_403_not_401(mock) -> None:
    client = mock("knowledgestack")
    admin = ks_sign_in(client)
    key_id = client.request("POST", "/v1/api-keys", token=admin, json={"name": "k"}).json()["id"]
    viewer = ks_sign_in(client, restricted=True)
    assert client.probe(viewer).status_code == 200
    assert client.request("GET", "/v1/documents", token=viewer).status_code == 200
    for method, path, body in [
        ("GET", "/v1/api-keys", None),
        ("POST", "/v1/api-keys", {"name": "x"}),
        ("GET", f"/v1/api-keys/{key_id}", None),
        ("DELETE", f"/v1/api-keys/{key_id}", None),
    ]:
        forbidden = client.request(method, path, token=viewer, json=body)
        assert forbidden.status_code == 403, (method, path)
        assert forbidden.json()["error"] == "insufficient_scope"
        assert client.request(method, path, json=body).status_code == 401
        assert client.request(method, path, token="garbage", json=body).status_code == 401
    assert client.request("GET", f"/v1/api-keys/{key_id}", token=admin).status_code == 200


def test_knowledgestack_key_lifecycle(mock) -> None:
    client = mock("knowledgestack")
    uat = ks_sign_in(client)
    created = client.request("POST", "/v1/api-keys", token=uat, json={"name": "my-service-key"})
    assert created.status_code == 201 and created.headers["content-type"] == "application/json"
    key = created.json()
    assert set(key) == {"id", "name", "key", "created_at"} and key["name"] == "my-service-key"
    assert re.fullmatch(r"key_[0-9a-z]{26}", key["id"])
    assert re.fullmatch(r"ks_live_[A-Za-z0-9_-]{20,}", key["key"])
    stamp = datetime.fromtimestamp(client.server.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert key["created_at"] == stamp
    assert key["key"] in client.server.issued()

    listed = client.request("GET", "/v1/api-keys", token=key["key"])
    assert listed.status_code == 200
    assert listed.json() == {
        "data": [{"id": key["id"], "name": key["name"], "created_at": stamp, "prefix": key["key"][:12]}]
    }
    assert key["key"] not in listed.text
    one = client.request("GET", f"/v1/api-keys/{key['id']}", token=uat)
    assert one.status_code == 200 and "key" not in one.json() and key["key"] not in one.text

    for path in ("/v1/users/me", "/v1/documents"):
        assert client.request("GET", path, token=key["key"]).status_code == 200
    client.server.advance(365 * 86400)
    assert client.probe(key["key"]).status_code == 200  # keys do not expire
    assert client.probe(uat).status_code == 401

    assert client.request("DELETE", f"/v1/api-keys/{key['id']}", token=key["key"]).status_code == 204
    assert_401(client.probe(key["key"]), presented=True, realm="knowledgestack", secret=key["key"])
    uat = ks_sign_in(client)
    again = client.request("DELETE", f"/v1/api-keys/{key['id']}", token=uat)
    assert again.status_code == 404 and again.json()["error"] == "not_found"
    assert client.request("GET", f"/v1/api-keys/{key['id']}", token=uat).status_code == 404
    assert client.request("GET", "/v1/api-keys", token=uat).json() == {"data": []}
    assert client.request("GET", "/v1/api-keys/key_unknown", token=uat).status_code == 404


def test_knowledgestack_key_creation_validates_the_body(mock) -> None:
    client = mock("knowledgestack")
    uat = ks_sign_in(client)
    for body, status in [({}, 422), ({"name": ""}, 422), ({"name": 5}, 422)]:
        assert client.request("POST", "/v1/api-keys", token=uat, json=body).status_code == status
    assert (
        client.request(
            "POST", "/v1/api-keys", token=uat, data=b"{", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert client.request("POST", "/v1/api-keys", token=uat, data="name=x").status_code == 415


def test_knowledgestack_sso_only_for_registered_tenant_and_redirect(mock) -> None:
    client = mock("knowledgestack")
    creds = client.server.credentials
    good = {"tenant_id": creds["sso_tenant_id"], "redirect_uri": creds["sso_redirect_uri"]}
    response = client.request("POST", "/v1/auth/sso/initiate", json=good)
    assert response.status_code == 200
    url = response.json()["redirect_url"]
    assert url.startswith("https://idp.mock.test/authorize?client_id=")
    assert "redirect_uri=https%3A%2F%2Fyour-app.com%2Fauth%2Fcallback" in url and "&state=" in url
    for bad in [
        {**good, "redirect_uri": "https://attacker.example/callback"},
        {**good, "redirect_uri": good["redirect_uri"] + "/x"},
        {**good, "tenant_id": "tenant_other"},
    ]:
        refused = client.request("POST", "/v1/auth/sso/initiate", json=bad)
        assert refused.status_code == 400 and "redirect_url" not in refused.json()
    assert client.request("POST", "/v1/auth/sso/initiate", json={"tenant_id": good["tenant_id"]}).status_code == 422


# --- shared plumbing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_unknown_paths_and_methods_are_json_4xx(mock, vendor: str) -> None:
    client = mock(vendor)
    missing = client.request("GET", "/no/such/path")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    spec = client.profile["issue"]
    wrong = client.request("DELETE", spec["path"])
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"] and wrong.json()["error"]


def _post(path: str, ctype: bytes, body: bytes) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n".encode()
    return head + b"Content-Type: " + ctype + b"\r\n\r\n" + body


ODD_REQUESTS = [
    b"GET /v1/api-keys/%ff%fe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\n",
    b"GET /v1/users/me?x=%ff HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET http://elsewhere/v1/users/me HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET //v1/users/me HTTP/1.1\r\nHost: x\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/users/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n",
    b"GET /v1/users/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\x7fb\r\n\r\n",
    b"POST /v1/auth/pw/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n",
    b"POST /v1/auth/pw/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST /v1/auth/pw/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2000000\r\n\r\n{}",
    _post("/v1/auth/pw/signin", b"\xff", b"{}"),
    _post("/v1/auth/sso/initiate", b"application/json", b'{"tenant_id":"\\ud800","redirect_uri":"x"}'),
    _post("/v1/auth/pw/signin", b"application/json", b'{"email":"\\ud800","password":"\\udfff"}'),
    _post("/v1/auth/pw/signin", b"application/json", b'{"email":"\xed\xa0\x80","password":"x"}'),
    _post("/v1/auth/pw/signin", b"application/json; charset=latin-1", b'{"email":"\xe9","password":"x"}'),
    _post("/v1/api-keys", b"application/json", b'{"name":"x"}'),
]


@pytest.mark.parametrize("raw", ODD_REQUESTS, ids=range(len(ODD_REQUESTS)))
def test_odd_requests_get_a_4xx_and_no_internal_error(mock, raw: bytes) -> None:
    client = mock("knowledgestack")
    with socket.create_connection(("127.0.0.1", client.server.port), timeout=5) as sock:
        sock.sendall(raw)
        status_line = sock.recv(65536).split(b"\r\n", 1)[0]
    assert re.fullmatch(rb"HTTP/1\.1 4\d\d [A-Za-z -]+", status_line), status_line
    assert json.dumps(client.server.log())  # the log stays serialisable whatever came in


def test_an_internal_error_becomes_a_4xx_and_is_counted(servers, monkeypatch) -> None:
    server = servers["opsnow"]
    server.reset(faults=True)
    client = MockClient(server)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(server.app.mock.minter, "verify", broken)
    response = client.probe("abc")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    info = server.info()
    assert info["internal_errors"] == 1
    assert "RuntimeError" in server.log()[-1]["internal_error"]
    server.reset()


@pytest.mark.parametrize("vendor", VENDORS)
def test_log_and_issued_secrets(mock, vendor: str) -> None:
    client = mock(vendor)
    body = client.issued()
    token = body[client.profile["issue"]["token_field"]]
    client.probe(token)
    client.probe(authorization=f"Basic {token}")
    log = client.server.log()
    text = json.dumps(log)
    assert [e["path"] for e in log][-3:] == [client.profile["issue"]["path"], client.profile["probe"]["path"]] * 1 + [
        client.profile["probe"]["path"]
    ]
    secrets = [v for n, v in client.server.credentials.items() if client.profile["credentials"].get(n)]
    for secret in [*secrets, *[v for v in body.values() if isinstance(v, str)]]:
        assert secret not in text
    assert "[redacted]" in text
    issued = client.server.issued()
    assert all(v in issued for v in body.values() if isinstance(v, str) and v.startswith("eyJ"))
    assert all(not e["path"].startswith("/_mock") for e in log)


@pytest.mark.parametrize("vendor", VENDORS)
def test_control_api(mock, vendor: str) -> None:
    client = mock(vendor)
    server = client.server
    info = server.info()
    assert info["vendor"] == vendor and info["clock"]["mode"] == "frozen"
    assert info["lifetimes"]["access"] == LIFETIME[vendor]
    assert set(info["credentials"]) == set(load_profile(vendor)["mock"]["credentials"])
    start = server.now()
    assert server.advance(10) == start + 10
    assert server.set_clock(2_000_000_000) == 2_000_000_000
    for bad in ({"advance": "1"}, {"advance": True}, {"set": -5}, {"advance": 1, "set": 2}, {}, {"tick": 1}):
        response = client.request("POST", "/_mock/clock", json=bad)
        assert response.status_code == 400, bad
    unknown = client.request("PUT", "/_mock/faults", json={"faults": ["never-expire", "no-such-fault"]})
    assert unknown.status_code == 400 and "no-such-fault" in unknown.json()["error_description"]
    assert server.set_faults(["never-expire"]) == ["never-expire"]
    catalogue = client.request("GET", "/_mock/faults").json()["catalogue"]
    assert "never-expire" in {f["name"] for f in catalogue}
    server.reset()
    assert server.info()["faults"] == [] and server.log() == []


def test_reset_keeps_start_faults_unless_asked(servers) -> None:
    with MockServer("opsnow", faults=["never-expire"]) as server:
        server.set_faults(["token-echo"])
        server.reset()
        assert server.info()["faults"] == ["never-expire"]
        server.reset(faults=True)
        assert server.info()["faults"] == []


def test_in_process_reset_does_what_the_control_endpoint_does() -> None:
    with MockServer("opsnow", faults=["never-expire"]) as server:
        server.set_faults(["token-echo"])
        server.advance(500)
        requests.post(server.base_url + "/platform/v2/identity/api-keys/token", json={"apiKey": "x"}, timeout=5)
        assert server.log()
        server.reset_in_process()
        info = server.info()
        assert info["faults"] == ["never-expire"] and server.log() == []
        assert abs(server.now() - time.time()) < 5
    with pytest.raises(MockError, match="not started"):
        server.reset_in_process()
