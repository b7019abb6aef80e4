"""Small named checks, one property each; a check raises Mismatch and the session turns it into a finding."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from conformance import jwtutil, specs
from conformance.failures import InfrastructureError, Mismatch
from conformance.http import Response

if TYPE_CHECKING:
    from conformance.session import IssuedToken, VendorSession

CHECKS: dict[str, Callable[..., None]] = {}
JSON_TYPES = ("application/json", "application/problem+json")


def check(fn: Callable[..., None]) -> Callable[..., None]:
    CHECKS[fn.__name__] = fn
    return fn


def _show(resp: Response) -> str:
    body = resp.exchange.response_body.strip().replace("\n", " ")
    return f"{resp.status} {body[:160]}" if body else str(resp.status)


def _served(resp: Response, statuses: Collection[int], what: str, expected: str | None = None) -> None:
    """A valid request must get one of its documented statuses; a 5xx here is an outage, not a verdict."""
    if resp.status >= 500:
        raise InfrastructureError(f"{what} answered {resp.status} to a valid request")
    if resp.status not in statuses:
        raise Mismatch(f"{expected or ' or '.join(map(str, statuses))} ({what})", _show(resp))


def _accepted(resp: Response, what: str) -> None:
    _served(resp, range(200, 300), what, expected="2xx")


def _rejected(resp: Response, allowed: set[int] | frozenset[int], what: str) -> None:
    if resp.status not in allowed:
        raise Mismatch(f"{' or '.join(map(str, sorted(allowed)))} ({what})", _show(resp))


def _not_let_in(resp: Response, what: str) -> None:
    """The security half of a rejection: whatever the status of a refusal, a 2xx means the request got in."""
    if 200 <= resp.status < 300:
        raise Mismatch(f"no success for {what} (any 4xx)", _show(resp))


# --- issuance ------------------------------------------------------------------------------------------------


@check
def issuance_succeeds(v: VendorSession, resp: Response) -> None:
    spec = v.profile["issue"]
    if resp.status >= 500:
        raise InfrastructureError(f"{v.vendor}: token endpoint answered {resp.status} to valid credentials")
    body = resp.json_or_none()
    if (
        resp.status not in spec.get("status", [200])
        or not isinstance(body, dict)
        or not isinstance(body.get(spec["token_field"]), str)
        or not body[spec["token_field"]]
    ):
        raise Mismatch(f"{spec.get('status', [200])} with a string {spec['token_field']!r}", _show(resp))


@check
def issuance_content_type_json(v: VendorSession, resp: Response) -> None:
    if resp.content_type not in JSON_TYPES:
        raise Mismatch("Content-Type: application/json", resp.headers.get("Content-Type", "(none)"))


@check
def issuance_body_matches_schema(v: VendorSession, resp: Response, schema: dict[str, Any]) -> None:
    field = v.profile["issue"]["token_field"]

    # The token's format (the spec's JWT pattern) is a claim of its own, judged by token_is_jwt: the body's
    # documented shape does not judge that guess a second time.
    def token_format(error: Any) -> bool:
        return error.validator == "pattern" and list(error.absolute_path) == [field]

    error = specs.schema_error(resp.json_or_none(), schema, ignore=token_format)
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "(body)"
        raise Mismatch("body valid against the spec's 200 schema", f"{where}: {error.message}")


@check
def json_body_accepted(v: VendorSession, resp: Response) -> None:
    _accepted(resp, "a JSON body")


@check
def form_urlencoded_accepted(v: VendorSession, resp: Response) -> None:
    _accepted(resp, "application/x-www-form-urlencoded body")


@check
def form_multipart_accepted(v: VendorSession, resp: Response) -> None:
    _accepted(resp, "multipart/form-data body")


@check
def wrong_encoding_rejected(v: VendorSession, resp: Response) -> None:
    if 200 <= resp.status < 300:
        raise Mismatch("4xx for a body in the wrong encoding", _show(resp))


@check
def refresh_token_issued(v: VendorSession, resp: Response) -> None:
    field = v.profile["issue"]["refresh_field"]
    body = resp.json_or_none() or {}
    if not isinstance(body.get(field), str) or not body[field]:
        raise Mismatch(f"a string {field!r} in the token response", f"fields {sorted(body)}")


@check
def token_is_jwt(v: VendorSession, token: str, resp: Response | None = None) -> None:
    if not jwtutil.looks_like_jwt(token.strip()):
        raise Mismatch(
            "a JWT (header.payload.signature, base64url JSON header)", f"{len(token)}-character opaque string"
        )
    problem = jwtutil.well_formed_problem(token)
    if problem is not None:
        raise Mismatch("a compact JWT with a JSON-object payload and numeric iat and exp", problem)
    alg = v.profile["token"].get("alg")
    if alg and jwtutil.header(token).get("alg") != alg:
        raise Mismatch(f"alg {alg}", jwtutil.header(token).get("alg"))


@check
def advertised_lifetime_type(v: VendorSession, tok: IssuedToken, resp: Response) -> None:
    allowed = v.profile["issue"].get("lifetime_types", ["integer"])
    value = tok.advertised
    if isinstance(value, bool):
        ok = False
    elif isinstance(value, int):
        ok = "integer" in allowed
    elif isinstance(value, str):
        ok = "numeric_string" in allowed and value.isdigit()
    else:
        ok = False
    if not ok:
        raise Mismatch(
            " or ".join(allowed).replace("numeric_string", "a string of digits"), f"{value!r} ({type(value).__name__})"
        )


def _seconds(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


@check
def advertised_lifetime_matches(v: VendorSession, tok: IssuedToken, resp: Response) -> None:
    field = v.profile["issue"]["lifetime_field"]
    seconds = _seconds(tok.advertised)
    if seconds != v.lifetime:
        raise Mismatch(f"{field} = {v.lifetime} s", repr(tok.advertised))


@check
def jwt_lifetime_matches(v: VendorSession, tok: IssuedToken, resp: Response) -> None:
    life = tok.jwt_lifetime
    if life != v.lifetime:
        raise Mismatch(f"exp - iat = {v.lifetime} s", f"{life} s" if life is not None else "no exp/iat")


@check
def refresh_token_lifetime_at_least(v: VendorSession, tok: IssuedToken, resp: Response) -> None:
    minimum = v.refresh_lifetime_min
    life = (
        jwtutil.lifetime(tok.refresh_token) if tok.refresh_token and jwtutil.looks_like_jwt(tok.refresh_token) else None
    )
    if life is None or minimum is None or life < minimum:
        raise Mismatch(
            f"refresh token exp - iat >= {minimum} s", f"{life} s" if life is not None else "not a JWT with exp/iat"
        )


@check
def bad_credentials_rejected(v: VendorSession, resp: Response, documented_statuses: bool = True) -> None:
    """Wrong or empty credentials get the profile's statuses; malformed requests any 4xx."""
    if documented_statuses:
        _rejected(resp, set(v.profile["issue"].get("bad_credentials_status", [401])), "wrong or empty credentials")
    elif not 400 <= resp.status < 500:
        raise Mismatch("4xx for a malformed credential request", _show(resp))


@check
def wrong_credentials_get_no_token(v: VendorSession, resp: Response) -> None:
    """A security baseline apart from the status code: wrong credentials never buy a token."""
    _not_let_in(resp, "wrong credentials")


@check
def bad_credentials_body_documented(v: VendorSession, resp: Response) -> None:
    expected = v.profile["issue"]["bad_credentials_body"]
    body = resp.json_or_none()

    def norm(x: Any) -> Any:
        return x.lower() if isinstance(x, str) else x

    if (
        not isinstance(body, dict)
        or set(body) != set(expected)
        or any(norm(body[k]) != norm(val) or type(body[k]) is not type(val) for k, val in expected.items())
    ):
        raise Mismatch(expected, body if body is not None else resp.exchange.response_body[:200])


# --- the protected resource ---------------------------------------------------------------------------------


@check
def bearer_token_accepted(v: VendorSession, resp: Response) -> None:
    _accepted(resp, "a valid Bearer token")


@check
def missing_token_rejected(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {401}, "no Authorization header")


@check
def missing_token_not_accepted(v: VendorSession, resp: Response) -> None:
    _not_let_in(resp, "a request without an Authorization header")


@check
def cookie_not_accepted_as_credential(v: VendorSession, resp: Response) -> None:
    _not_let_in(resp, "a request carrying only the cookie(s) the API set, no Authorization header")


@check
def token_without_scheme_rejected(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {400, 401}, "the bare token without 'Bearer'")


@check
def other_scheme_rejected(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {400, 401}, "a valid token under another scheme")


@check
def bearer_scheme_case_insensitive(v: VendorSession, resp: Response) -> None:
    _accepted(resp, "the scheme in another letter case")


@check
def bearer_multiple_spaces_accepted(v: VendorSession, resp: Response) -> None:
    _accepted(resp, "several spaces after 'Bearer'")


@check
def malformed_authorization_rejected(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {400, 401}, "a malformed Authorization header")


@check
def unauthenticated_is_401_not_403(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {401}, "an invalid token is unauthenticated, not forbidden")


@check
def www_authenticate_on_401(v: VendorSession, resp: Response) -> None:
    if resp.status != 401:
        return
    challenges = resp.header_values("WWW-Authenticate")
    # One header may hold several challenges (RFC 9110 §11.6.1): Bearer need not come first.
    if not any(_BEARER_CHALLENGE.search(c) for c in challenges):
        raise Mismatch("WWW-Authenticate: Bearer ... on 401", challenges or "(no WWW-Authenticate header)")


_BEARER_CHALLENGE = re.compile(r'(?i)(?:^|,)\s*bearer(?:\s|,|$)(?=(?:[^"]*"[^"]*")*[^"]*$)')


@check
def invalid_token_error_code(v: VendorSession, resp: Response) -> None:
    challenge = " ".join(resp.header_values("WWW-Authenticate"))
    if resp.status != 401 or not re.search(r'(?i)error\s*=\s*"?invalid_token"?', challenge):
        raise Mismatch(
            '401 with WWW-Authenticate: Bearer error="invalid_token"', f"{resp.status} {challenge or '(no challenge)'}"
        )


@check
def no_error_code_without_credentials(v: VendorSession, resp: Response) -> None:
    challenge = " ".join(resp.header_values("WWW-Authenticate"))
    if re.search(r"(?i)\berror\s*=", challenge):
        raise Mismatch("a challenge without an error code when no credentials were sent", challenge)


@check
def bad_input_no_server_error(v: VendorSession, resp: Response) -> None:
    if resp.status >= 500:
        raise Mismatch("4xx for bad input", _show(resp))


@check
def error_body_is_json(v: VendorSession, resp: Response) -> None:
    if (
        400 <= resp.status < 500
        and resp.content
        and (resp.content_type not in JSON_TYPES or resp.json_or_none() is None)
    ):
        raise Mismatch(
            # The body as recorded (redacted), never the raw text: an error body may echo the credentials.
            "a JSON error body",
            f"{resp.headers.get('Content-Type', '(no Content-Type)')}: {resp.exchange.response_body[:80]}",
        )


@check
def no_secret_echo(v: VendorSession, resp: Response, secrets: list[str]) -> None:
    haystack = resp.text + " ".join(f"{k}: {val}" for k, val in resp.header_list if k.lower() != "set-cookie")
    echoed = [s for s in secrets if s and len(s) >= 8 and s in haystack]
    if echoed:
        raise Mismatch(
            "no presented credential in the error response", f"{len(echoed)} presented secret(s) echoed back"
        )


# --- expiry and refresh --------------------------------------------------------------------------------------


@check
def token_accepted_before_expiry(v: VendorSession, resp: Response) -> None:
    _accepted(resp, "a token one second before its expiry")


@check
def expired_token_rejected(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {401}, "a token past its expiry")


@check
def refresh_issues_new_token(v: VendorSession, resp: Response, old: IssuedToken) -> None:
    field = v.profile["refresh"]["token_field"]
    body = resp.json_or_none()
    if resp.status >= 500:
        raise InfrastructureError(f"{v.vendor}: refresh answered {resp.status}")
    if not 200 <= resp.status < 300 or not isinstance(body, dict) or not isinstance(body.get(field), str):
        raise Mismatch(f"2xx with a new {field!r}", _show(resp))
    if body[field] == old.value:
        raise Mismatch("a new access token", "the same token as before")


@check
def refresh_resets_expiry(v: VendorSession, new_token: str, old: IssuedToken, moved: int) -> None:
    old_exp = jwtutil.numeric_claim(jwtutil.safe_claims(old.value), "exp")
    new_exp = jwtutil.numeric_claim(jwtutil.safe_claims(new_token), "exp")
    if new_exp is None or old_exp is None or new_exp < old_exp + moved:
        raise Mismatch(f"new exp reset (>= old exp + {moved} s)", f"old exp {old_exp}, new exp {new_exp}")


@check
def refresh_after_access_expiry(v: VendorSession, resp: Response) -> None:
    _accepted(resp, "a refresh after the access token expired")


@check
def refresh_token_not_bearer(v: VendorSession, resp: Response) -> None:
    _not_let_in(resp, "the refresh token sent as a Bearer token")


# --- JWT tampering -------------------------------------------------------------------------------------------


@check
def jwt_alg_none_rejected(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {401}, 'a token with alg "none"')


@check
def jwt_signature_stripped_rejected(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {401}, "a token without its signature")


@check
def jwt_signature_altered_rejected(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {401}, "a token with an altered signature")


@check
def jwt_claims_edited_rejected(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {401}, "a token whose claims were edited")


@check
def jwt_weak_key_rejected(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {401}, "a token re-signed with a guessed key")


# --- API keys, sign-out, SSO, permissions --------------------------------------------------------------------


@check
def key_list_accepted(v: VendorSession, resp: Response) -> None:
    _served(resp, v.profile["keys"]["list"]["status"], "listing API keys")


@check
def key_delete_accepted(v: VendorSession, resp: Response) -> None:
    _served(resp, v.profile["keys"]["delete"]["status"], "deleting one's own API key")


@check
def key_shown_at_creation(v: VendorSession, resp: Response) -> None:
    spec = v.profile["keys"]
    body = resp.json_or_none()
    if (
        resp.status not in spec["create"]["status"]
        or not isinstance(body, dict)
        or not isinstance(body.get(spec["key_field"]), str)
        or not isinstance(body.get(spec["id_field"]), str)
    ):
        raise Mismatch(
            f"{spec['create']['status']} with {spec['id_field']!r} and the full {spec['key_field']!r}", _show(resp)
        )


@check
def key_list_hides_full_key(v: VendorSession, resp: Response, key: str) -> None:
    if key in resp.text:
        raise Mismatch("no full key in the response", "the full key appears in the response body")


@check
def key_listed_after_creation(v: VendorSession, resp: Response, key_id: str) -> None:
    spec = v.profile["keys"]
    items = listed_items(spec, resp.json_or_none())
    if not isinstance(items, list) or not any(isinstance(i, dict) and i.get(spec["id_field"]) == key_id for i in items):
        raise Mismatch(f"the new key's id in {spec['items_field']!r}", _show(resp))


def listed_items(spec: dict[str, Any], body: Any) -> list[Any] | None:
    """The items of a list response: under the profile's field (a guess) or, as another reading, the bare array."""
    if isinstance(body, list):
        return body
    items = body.get(spec["items_field"]) if isinstance(body, dict) else None
    return items if isinstance(items, list) else None


@check
def api_key_accepted_as_bearer(v: VendorSession, resp: Response) -> None:
    _accepted(resp, "an API key as Bearer token")


@check
def key_never_expires(v: VendorSession, resp: Response) -> None:
    _accepted(resp, "an API key a year after creation")


@check
def deleted_key_rejected(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {401}, "a deleted API key")


@check
def second_delete_not_found(v: VendorSession, resp: Response) -> None:
    _rejected(resp, set(v.profile["keys"].get("missing_status", [404])), "deleting a key already deleted")


@check
def signout_accepted(v: VendorSession, resp: Response) -> None:
    _served(resp, v.profile["signout"]["status"], "sign-out with a valid token")


@check
def signout_invalidates_token(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {401}, "a token after sign-out")


@check
def sso_registered_redirect_returns_url(v: VendorSession, resp: Response) -> None:
    spec = v.profile["sso"]
    body = resp.json_or_none()
    if resp.status >= 500:
        raise InfrastructureError(f"{v.vendor}: SSO initiation answered {resp.status}")
    url = body.get(spec["url_field"]) if isinstance(body, dict) else None
    if resp.status not in spec.get("status", [200]) or not isinstance(url, str) or not url.startswith("https://"):
        raise Mismatch(f"{spec.get('status', [200])} with an https {spec['url_field']!r}", _show(resp))


@check
def sso_unregistered_redirect_rejected(v: VendorSession, resp: Response) -> None:
    # A 5xx is no open redirect (bad_input_no_server_error judges it); a 2xx or a 3xx sends the user on.
    if resp.status < 400:
        raise Mismatch("4xx for an unregistered redirect_uri or tenant", _show(resp))


@check
def forbidden_is_403(v: VendorSession, resp: Response) -> None:
    _rejected(resp, {403}, "a valid token without permission")


# --- TLS ----------------------------------------------------------------------------------------------------------


@check
def tls_verification_documented(v: VendorSession) -> None:
    tls = v.profile.get("tls") or {}
    if v.target.verify is False and not tls.get("verify_off_documented"):
        raise Mismatch("TLS verification on", "verification turned off without the vendor documenting it")
