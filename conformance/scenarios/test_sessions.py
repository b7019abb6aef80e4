"""Sign-out, SSO initiation, and the 401-versus-403 distinction."""

from __future__ import annotations

import pytest

from conformance.session import VendorSession, bearer


@pytest.mark.capability("signout")
def test_signed_out_token_rejected(v: VendorSession) -> None:
    tok = v.issue()
    v.check("bearer_token_accepted", v.probe(f"Bearer {tok.value}"))
    spec = v.profile["signout"]
    v.require("signout_accepted", v.http.request(spec["method"], spec["path"], headers=bearer(tok.value)))
    resp = v.probe(f"Bearer {tok.value}")
    v.check("signout_invalidates_token", resp)
    v.check("www_authenticate_on_401", resp)


@pytest.mark.capability("sso")
def test_sso_registered_redirect_returns_url(v: VendorSession) -> None:
    spec = v.profile["sso"]
    resp = v.http.request(spec["method"], spec["path"], json_body=v.credential_body(fields=spec["fields"]))
    v.check("sso_registered_redirect_returns_url", resp)


@pytest.mark.capability("sso")
@pytest.mark.parametrize("variant", ["foreign-redirect", "lookalike-redirect", "unknown-tenant"])
def test_sso_unregistered_redirect_rejected(v: VendorSession, variant: str) -> None:
    spec = v.profile["sso"]
    body = v.credential_body(fields=spec["fields"])
    uri_field, tenant_field = list(spec["fields"])[1], list(spec["fields"])[0]
    if variant == "foreign-redirect":
        body[uri_field] = spec["foreign_redirect_uri"]
    elif variant == "lookalike-redirect":
        body[uri_field] = body[uri_field] + ".attacker.example"
    else:
        body[tenant_field] = "tenant_unknown_0000"
    resp = v.http.request(spec["method"], spec["path"], json_body=body)
    v.check("sso_unregistered_redirect_rejected", resp)
    v.check("bad_input_no_server_error", resp)
    if 200 <= resp.status < 300:
        v.security_notes.append(f"SSO initiation accepted {variant}: an open redirect that can leak tokens")


@pytest.mark.capability("forbidden_403")
def test_forbidden_is_403_not_401(v: VendorSession) -> None:
    spec = v.profile["forbidden"]
    restricted = v.issue(fields=spec["fields"])
    resp = v.http.request(spec["method"], spec["path"], headers=bearer(restricted.value))
    v.check("forbidden_is_403", resp)
    unauthenticated = v.http.request(spec["method"], spec["path"], headers=bearer("invalid-token-0000"))
    v.check("unauthenticated_is_401_not_403", unauthenticated)


@pytest.mark.capability("tls")
def test_tls_verification_as_documented(v: VendorSession) -> None:
    v.check("tls_verification_documented")
    if v.target.verify is False:
        v.security_notes.append(
            f"{v.vendor}: TLS certificate verification is OFF because the vendor's documentation requires it "
            '("the SSL verification must be turned off"); traffic to this vendor can be intercepted.'
        )
    v.check("bearer_token_accepted", v.probe(f"Bearer {v.token().value}"))
