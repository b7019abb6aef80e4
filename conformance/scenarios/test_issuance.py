"""Token issuance: success shape, lifetimes, bad credentials and request body encodings."""

from __future__ import annotations

import pytest

from conformance import jwtutil, specs
from conformance.session import DROP, VendorSession


@pytest.mark.capability("issuance")
def test_token_issued_with_documented_shape(v: VendorSession) -> None:
    spec = v.profile["issue"]
    tok = v.issue()
    resp = tok.response
    v.check("issuance_content_type_json", resp)
    v.check("issuance_body_matches_schema", resp, specs.response_schema(v.vendor, spec["method"], spec["path"]))
    if v.profile["token"]["format"] == "jwt":
        v.check("token_is_jwt", tok.raw or tok.value, resp)
    if spec.get("refresh_field"):
        v.check("refresh_token_issued", resp)


@pytest.mark.capability("expiry")
def test_advertised_lifetime_is_documented(v: VendorSession) -> None:
    tok = v.issue()
    if v.profile["issue"].get("lifetime_field"):
        v.check("advertised_lifetime_type", tok, tok.response)
        v.check("advertised_lifetime_matches", tok, tok.response)
    if not v.lifetime_documented:
        pytest.skip(f"{v.vendor}: the access lifetime is not documented; the expiry scenario uses the token's own exp")
    # A malformed JWT has no exp to compare: that is the token-format check's finding, not the lifetime claim's.
    if (
        v.profile["token"]["format"] == "jwt"
        and jwtutil.looks_like_jwt(tok.value)
        and jwtutil.well_formed_problem(tok.value) is None
    ):
        v.check("jwt_lifetime_matches", tok, tok.response)


@pytest.mark.capability("refresh")
def test_refresh_token_lives_at_least_documented(v: VendorSession) -> None:
    if v.refresh_lifetime_min is None:
        pytest.skip(f"{v.vendor}: no documented refresh-token lifetime")
    tok = v.issue()
    v.check("refresh_token_lifetime_at_least", tok, tok.response)


def _bad_credential_variants() -> list[tuple[str, str, object]]:
    return [
        ("wrong", "wrong value", "wrong"),
        ("empty", "empty string", ""),
        ("missing", "field left out", DROP),
        ("number", "a number instead of a string", 12345),
    ]


@pytest.mark.capability("issuance")
@pytest.mark.parametrize(
    "variant,_desc,kind", _bad_credential_variants(), ids=[x[0] for x in _bad_credential_variants()]
)
def test_bad_credentials_rejected(v: VendorSession, variant: str, _desc: str, kind: object) -> None:
    spec = v.profile["issue"]
    if kind == 12345 and spec["encoding"] != "json":
        pytest.skip(f"{v.vendor}: form fields carry only strings")
    for field, credential in spec["fields"].items():
        value = v.target.credentials[credential] + "-wrong" if kind == "wrong" else kind
        resp = v.issue_raw({field: value})
        v.check("bad_input_no_server_error", resp)
        v.check("wrong_credentials_get_no_token", resp)
        v.check("bad_credentials_rejected", resp, documented_statuses=kind in ("wrong", "empty"))
        if kind == "wrong" and spec.get("bad_credentials_body"):
            v.check("bad_credentials_body_documented", resp)
        v.check("error_body_is_json", resp)
        v.check("no_secret_echo", resp, [str(value)] if isinstance(value, str) else [])


@pytest.mark.capability("issuance")
def test_empty_body_rejected(v: VendorSession) -> None:
    spec = v.profile["issue"]
    resp = v.send_body(spec["method"], spec["path"], {}, spec["encoding"])
    v.check("bad_input_no_server_error", resp)
    v.check("bad_credentials_rejected", resp, documented_statuses=False)


@pytest.mark.capability("issuance")
@pytest.mark.parametrize(
    "payload", ["{not json", "\xff\xfe", "[]", "null"], ids=["truncated-json", "not-utf8", "array", "null"]
)
def test_malformed_body_is_client_error(v: VendorSession, payload: str) -> None:
    spec = v.profile["issue"]
    ctype = "application/json" if spec["encoding"] == "json" else "application/x-www-form-urlencoded"
    content = payload.encode("latin-1")
    resp = v.http.request(spec["method"], spec["path"], headers={"Content-Type": ctype}, content=content)
    v.check("bad_input_no_server_error", resp)
    v.check("bad_credentials_rejected", resp, documented_statuses=False)
    v.check("error_body_is_json", resp)


@pytest.mark.capability("form_body")
@pytest.mark.parametrize(
    "encoding,check",
    [("form", "form_urlencoded_accepted"), ("multipart", "form_multipart_accepted")],
    ids=["urlencoded", "multipart"],
)
def test_form_data_accepted(v: VendorSession, encoding: str, check: str) -> None:
    resp = v.issue_raw(encoding=encoding)
    v.check(check, resp)


@pytest.mark.capability("form_body")
def test_json_body_not_taken_for_form_data(v: VendorSession) -> None:
    resp = v.issue_raw(encoding="json")
    v.check("bad_input_no_server_error", resp)
    v.check("wrong_encoding_rejected", resp)


@pytest.mark.capability("json_body")
def test_json_body_accepted(v: VendorSession) -> None:
    resp = v.issue_raw(encoding="json")
    v.check("json_body_accepted", resp)


@pytest.mark.capability("json_body")
def test_form_body_to_json_endpoint_is_client_error(v: VendorSession) -> None:
    resp = v.issue_raw(encoding="form")
    v.check("bad_input_no_server_error", resp)
    v.check("error_body_is_json", resp)
