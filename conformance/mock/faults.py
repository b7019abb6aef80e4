"""The catalogue of named faults and the behaviour knobs (`Policy`) they turn at the shared decision points."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.mock import reach

VENDORS = ("klearstack", "klavi", "opsnow", "knowledgestack")
ALL = VENDORS


@dataclass(frozen=True)
class Policy:
    """How the mock behaves; the defaults are the faithful vendor, each fault flips a few knobs.

    Every knob is read at one shared decision point (named in the comment), never in a per-vendor copy.
    """

    # Authorization parsing (authz.parse_authorization)
    scheme_case_sensitive: bool = False
    single_space_only: bool = False
    any_scheme: bool = False
    lenient_authorization: bool = False
    # Token verification (app.Ctx.authenticate, tokens.Minter)
    auth_required: bool = True
    check_signature: bool = True
    accept_alg_none: bool = False
    check_expiry: bool = True
    refresh_as_bearer: bool = False
    accept_valid_tokens: bool = True
    api_keys_as_bearer: bool = True
    deleted_keys_work: bool = False
    key_lifetime: int | None = None
    signout_revokes: bool = True
    signout_needs_body: bool = False
    # Issuance (app.Ctx.issue_access, credential checks)
    check_credentials: bool = True
    accept_wrong_credentials: bool = False
    lifetime_factor: float = 1.0
    lifetime_wrong_type: bool = False
    refresh_resets_expiry: bool = True
    refresh_lifetime: int | None = None
    issue_refresh_token: bool = True
    opaque_tokens: bool = False
    rename_token_field: bool = False
    # Request bodies (bodies.parse_form) and success responses (app.Ctx.ok)
    multipart_form: bool = True
    json_as_form: bool = False
    success_media_type: str = "application/json"
    # Error responses (app.Mock.render)
    www_authenticate: bool = True
    invalid_token_error: bool = True
    error_without_credentials: bool = False
    errors_json: bool = True
    swap_401_403: bool = False
    echo_token: bool = False
    server_error_on_bad_input: bool = False
    documented_401_body: bool = True
    # Resources (Knowledge Stack keys and SSO)
    list_full_keys: bool = False
    list_created_keys: bool = True
    return_key_on_create: bool = True
    double_delete_ok: bool = False
    list_keys_allowed: bool = True
    delete_keys_allowed: bool = True
    sso_any_redirect: bool = False
    sso_enabled: bool = True
    # Session cookies (app.Ctx.issuance sets one, app.Ctx.authenticate reads it): verdicts' faults
    cookie_auth: bool = False
    # Other plausible readings of what the docs leave open (READINGS below; app.Ctx.ok, app.Mock.render, handlers)
    probe_body_wrapped: bool = False
    list_unwrapped: bool = False
    validation_status: int = 0
    issue_status: int = 200
    challenge_variant: bool = False
    lifetime_as_string: bool = False
    error_body_variant: bool = False
    sso_unknown_tenant_status: int = 400
    single_key_read: bool = True
    refresh_rotates: bool = False
    no_content_as_200: bool = False
    # Infrastructure (app.MockMiddleware)
    unavailable_every: int = 0
    rate_limit_every: int = 0
    drop_every: int = 0
    delay: float = 0.0
    # --- robust ---
    # Issuance (tokens.Minter.issue): access tokens whose payload breaks the JWT format in one way.
    malformed_token: str = ""
    # Infrastructure (middleware.MockApp)
    gateway_503_every: int = 0
    truncate_every: int = 0
    broken_gzip_every: int = 0
    # Configuration (middleware.MockApp): the probe endpoint does not exist.
    probe_missing: bool = False


@dataclass(frozen=True)
class Fault:
    """A named modifier of the faithful mock, and the claims a correct suite must then report as broken."""

    name: str
    description: str
    claims: tuple[str, ...]
    vendors: tuple[str, ...]
    kind: str  # conformance | infrastructure | reading
    hook: str  # the shared decision point it acts at
    changes: Mapping[str, Any] = field(default_factory=dict, compare=False)
    # Infrastructure faults take an optional number, e.g. "slow-responses=0.5": the knob it sets.
    param: str | None = None
    # Readings only: the guess (an x-assumption of the spec, a profile value) this reading varies.
    varies: str = ""


def _f(
    name: str,
    description: str,
    claims: Iterable[str],
    hook: str,
    vendors: Iterable[str] = ALL,
    kind: str = "conformance",
    param: str | None = None,
    **changes: Any,
) -> Fault:
    return Fault(name, description, tuple(claims), tuple(vendors), kind, hook, changes, param)


_UNAUTH = ("KLEARSTACK-AUTH-001", "KLAVI-AUTH-010", "OPSNOW-AUTH-001", "KSTACK-AUTH-001", "KSTACK-ERR-401")

CATALOGUE: tuple[Fault, ...] = (
    _f(
        "auth-ignored",
        "Protected endpoints answer 200 with a missing or invalid token.",
        (*_UNAUTH, "KLAVI-AUTH-011"),
        "verification",
        auth_required=False,
    ),
    _f(
        "accept-other-scheme",
        "A valid token authenticates under any scheme (Basic, Token, ...) or with none.",
        ("KLEARSTACK-AUTH-009", "KLAVI-AUTH-009", "OPSNOW-AUTH-003", "KSTACK-AUTH-001"),
        "authorization",
        any_scheme=True,
    ),
    _f(
        "scheme-case-sensitive",
        'Only the exact scheme "Bearer" is accepted ("bearer", "BEARER" get 401).',
        ("RFC9110-11.1-SCHEME-CASE",),
        "authorization",
        scheme_case_sensitive=True,
    ),
    _f(
        "single-space-only",
        'Two or more spaces between "Bearer" and the token get 401.',
        ("RFC6750-2.1-SPACES",),
        "authorization",
        single_space_only=True,
    ),
    _f(
        "no-www-authenticate",
        "401 responses carry no WWW-Authenticate header.",
        ("RFC6750-3-WWW-AUTHENTICATE", "RFC9110-11.6.1-CHALLENGE"),
        "errors",
        www_authenticate=False,
    ),
    _f(
        "never-expire",
        "Access tokens are accepted after their exp.",
        (
            "RFC7519-4.1.4-EXP",
            "KLEARSTACK-AUTH-003",
            "KLAVI-AUTH-008",
            "OPSNOW-AUTH-006",
            "KSTACK-UAT-001",
            "KSTACK-ERR-401",
        ),
        "verification",
        check_expiry=False,
    ),
    _f(
        "signature-not-checked",
        "JWT signatures are not verified (altered, stripped or foreign-key signatures pass).",
        ("RFC7519-7.2-VALIDATE-SIGNATURE", "RFC7519-4.1.4-EXP"),
        "verification",
        check_signature=False,
    ),
    _f(
        "alg-none-accepted",
        'A JWT with alg "none" and no signature is accepted.',
        ("RFC8725-3.1-ALGORITHM",),
        "verification",
        accept_alg_none=True,
    ),
    _f(
        "wrong-lifetime",
        "Access tokens live, and are advertised to live, half the documented lifetime.",
        ("KLEARSTACK-AUTH-003", "KLAVI-AUTH-005", "OPSNOW-AUTH-005"),
        "issuance",
        ("klearstack", "klavi", "opsnow"),
        lifetime_factor=0.5,
    ),
    _f(
        "lifetime-wrong-type",
        'The advertised lifetime has the wrong type but the right value ("30m" where '
        'digit strings are allowed, else the digits as a string, "3600").',
        ("KLAVI-AUTH-006", "OPSNOW-AUTH-005"),
        "issuance",
        ("klavi", "opsnow"),
        lifetime_wrong_type=True,
    ),
    _f(
        "wrong-401-body",
        "Wrong credentials get a 401 whose body differs from the documented one.",
        ("KLAVI-AUTH-007",),
        "errors",
        ("klavi",),
        documented_401_body=False,
    ),
    _f(
        "server-error-on-bad-input",
        "Malformed bodies, malformed Authorization headers and bad credentials get 500 with an HTML body.",
        ("RFC9110-15.5-CLIENT-ERROR",),
        "errors",
        server_error_on_bad_input=True,
    ),
    _f(
        "bad-credentials-accepted",
        "Token issuance succeeds with wrong, empty or missing credentials.",
        (
            "KLEARSTACK-AUTH-012",
            "KLEARSTACK-AUTH-013",
            "KLAVI-AUTH-002",
            "KLAVI-AUTH-007",
            "OPSNOW-AUTH-007",
            "OPSNOW-AUTH-009",
            "KSTACK-PW-003",
            "KSTACK-PW-005",
        ),
        "issuance",
        check_credentials=False,
    ),
    _f(
        "refresh-same-expiry",
        "Refreshing returns a new token with the old token's iat and exp.",
        ("KLEARSTACK-AUTH-005", "KSTACK-UAT-002"),
        "issuance",
        ("klearstack", "knowledgestack"),
        refresh_resets_expiry=False,
    ),
    _f(
        "refresh-token-as-bearer",
        "The refresh token authenticates API calls as a Bearer token.",
        ("KLEARSTACK-AUTH-011",),
        "verification",
        ("klearstack",),
        refresh_as_bearer=True,
    ),
    _f(
        "refresh-token-short",
        "The refresh token lives one hour instead of at least a day.",
        ("KLEARSTACK-AUTH-004",),
        "issuance",
        ("klearstack",),
        refresh_lifetime=3600,
    ),
    _f(
        "refresh-token-missing",
        "get_access_token returns no refresh_token.",
        ("KLEARSTACK-AUTH-002",),
        "issuance",
        ("klearstack",),
        issue_refresh_token=False,
    ),
    _f(
        "multipart-rejected",
        "multipart/form-data bodies get 415 (only urlencoded forms are read).",
        ("KLEARSTACK-AUTH-006",),
        "bodies",
        ("klearstack",),
        multipart_form=False,
    ),
    _f(
        "wrong-encoding-accepted",
        "A JSON body is read as if it were form data.",
        ("KLEARSTACK-AUTH-007",),
        "bodies",
        ("klearstack",),
        json_as_form=True,
    ),
    _f(
        "wrong-content-type",
        "Success bodies are served as text/plain.",
        # The contract part also sees the probe's body served as text: the spec's (guessed) shape, a warning.
        ("KLAVI-AUTH-003", "OPSNOW-AUTH-004", "KSTACK-PW-001", "CONV-SPEC-SHAPE"),
        "responses",
        ("klavi", "opsnow", "knowledgestack"),
        success_media_type="text/plain",
    ),
    _f(
        "revoked-key-works",
        "A deleted API key still authenticates.",
        ("KSTACK-KEY-006",),
        "verification",
        ("knowledgestack",),
        deleted_keys_work=True,
    ),
    _f(
        "list-leaks-keys",
        "Listing or reading API keys shows the full key.",
        ("KSTACK-KEY-002",),
        "keys",
        ("knowledgestack",),
        list_full_keys=True,
    ),
    _f(
        "key-expires",
        "API keys stop working 30 days after creation.",
        ("KSTACK-KEY-004",),
        "verification",
        ("knowledgestack",),
        key_lifetime=30 * 86400,
    ),
    _f(
        "double-delete-ok",
        "Deleting an already deleted key answers 204 again.",
        ("KSTACK-KEY-007",),
        "keys",
        ("knowledgestack",),
        double_delete_ok=True,
    ),
    _f(
        "signout-noop",
        "Sign-out answers 204 but the token keeps working.",
        ("KSTACK-SIGNOUT-001",),
        "verification",
        ("knowledgestack",),
        signout_revokes=False,
    ),
    _f(
        "swap-401-403",
        "A missing or invalid token gets 403 and a forbidden request gets 401.",
        # A 403 lets no one in: Klavi's assumed 401 (KLAVI-AUTH-011) is what breaks, not its baseline (-010).
        (*(c for c in _UNAUTH if c != "KLAVI-AUTH-010"), "KLAVI-AUTH-011", "KSTACK-ERR-403"),
        "errors",
        swap_401_403=True,
    ),
    _f(
        "sso-open-redirect",
        "SSO initiation accepts any redirect_uri for the registered tenant.",
        ("KSTACK-SSO-002",),
        "sso",
        ("knowledgestack",),
        sso_any_redirect=True,
    ),
    _f("token-echo", "401 bodies echo the presented token.", ("CONV-NO-SECRET-ECHO",), "errors", echo_token=True),
    _f(
        "malformed-authorization-accepted",
        "A header breaking the Bearer grammar (a tab, extra words, trailing "
        "punctuation) still authenticates when a valid token can be found in it.",
        ("RFC6750-2.1-SYNTAX", "KSTACK-ERR-401"),
        "authorization",
        lenient_authorization=True,
    ),
    _f(
        "challenge-without-error",
        'A rejected token gets a Bearer challenge without error="invalid_token".',
        ("RFC6750-3.1-INVALID-TOKEN",),
        "errors",
        invalid_token_error=False,
    ),
    _f(
        "error-without-credentials",
        'A request without credentials gets error="invalid_token" in its challenge.',
        ("RFC6750-3.1-NO-ERROR-WITHOUT-CREDENTIALS",),
        "errors",
        error_without_credentials=True,
    ),
    _f(
        "errors-not-json",
        "4xx error bodies are plain text instead of JSON (documented error bodies excepted).",
        ("CONV-JSON-ERRORS",),
        "errors",
        errors_json=False,
    ),
    _f(
        "valid-token-rejected",
        "The probe endpoint answers 401 to a freshly issued, valid access token "
        "(other endpoints still accept it, so flows that need a token can run).",
        ("KLEARSTACK-AUTH-008", "KLAVI-AUTH-009", "OPSNOW-AUTH-002", "KSTACK-PW-002"),
        "verification",
        accept_valid_tokens=False,
    ),
    _f(
        "opaque-tokens",
        "Access tokens are opaque random strings, not JWTs (they still work until they expire).",
        ("KLEARSTACK-AUTH-010", "KLAVI-AUTH-004", "OPSNOW-AUTH-008", "KSTACK-PW-004"),
        "issuance",
        opaque_tokens=True,
    ),
    _f(
        "token-field-renamed",
        'The issuance response names the token field "token" instead of the documented name.',
        ("KLEARSTACK-AUTH-002", "KLAVI-AUTH-001", "OPSNOW-AUTH-004", "KSTACK-PW-001"),
        "issuance",
        rename_token_field=True,
    ),
    _f(
        "api-key-not-bearer",
        "API keys are not accepted as Bearer tokens.",
        ("KSTACK-KEY-003",),
        "verification",
        ("knowledgestack",),
        api_keys_as_bearer=False,
    ),
    _f(
        "key-not-returned",
        "Creating an API key answers 201 without the key value.",
        ("KSTACK-KEY-001",),
        "keys",
        ("knowledgestack",),
        return_key_on_create=False,
    ),
    _f(
        "key-not-listed",
        "The key list never shows the keys created.",
        ("KSTACK-KEY-005",),
        "keys",
        ("knowledgestack",),
        list_created_keys=False,
    ),
    _f(
        "key-list-forbidden",
        "Listing API keys answers 403 to the keys' own owner (a scope the docs never mention).",
        ("KSTACK-KEY-005",),
        "keys",
        ("knowledgestack",),
        list_keys_allowed=False,
    ),
    _f(
        "key-delete-forbidden",
        "Deleting an API key answers 403 to the key's own owner: keys can no longer be revoked.",
        ("KSTACK-KEY-006",),
        "keys",
        ("knowledgestack",),
        delete_keys_allowed=False,
    ),
    _f(
        "signout-needs-body",
        'Sign-out answers 400 "refresh_token is required" to the documented request (a token and no body).',
        ("KSTACK-SIGNOUT-001",),
        "verification",
        ("knowledgestack",),
        signout_needs_body=True,
    ),
    _f(
        "sso-refused",
        "SSO initiation refuses even the registered tenant and redirect URI.",
        ("KSTACK-SSO-001",),
        "sso",
        ("knowledgestack",),
        sso_enabled=False,
    ),
    # --- verdicts ---
    _f(
        "cookie-only-auth",
        "Issuance also sets a session cookie holding the token, and protected endpoints accept that cookie "
        "when the Authorization header is missing.",
        ("KLEARSTACK-AUTH-001", "KLAVI-AUTH-010", "OPSNOW-AUTH-001", "KSTACK-AUTH-001"),
        "verification",
        cookie_auth=True,
    ),
    _f(
        "wrong-credentials-accepted",
        "Token issuance checks that the credential fields are there, but issues a token whatever their values.",
        ("KLEARSTACK-AUTH-012", "KLAVI-AUTH-007", "OPSNOW-AUTH-007", "KSTACK-PW-003"),
        "issuance",
        accept_wrong_credentials=True,
    ),
    _f(
        "intermittent-503",
        "Every 2nd request (or every N-th: intermittent-503=N) gets 503 with Retry-After: 0.",
        (),
        "middleware",
        kind="infrastructure",
        param="unavailable_every",
        unavailable_every=2,
    ),
    _f(
        "rate-limit-429",
        "Every 3rd request (or every N-th: rate-limit-429=N) gets 429 with Retry-After: 1.",
        (),
        "middleware",
        kind="infrastructure",
        param="rate_limit_every",
        rate_limit_every=3,
    ),
    _f(
        "slow-responses",
        "Every response is delayed 0.2 s (or S seconds: slow-responses=S).",
        (),
        "middleware",
        kind="infrastructure",
        param="delay",
        delay=0.2,
    ),
    _f(
        "drop-connection",
        "Every 3rd request (or every N-th: drop-connection=N) has its connection closed with no response.",
        (),
        "middleware",
        kind="infrastructure",
        param="drop_every",
        drop_every=3,
    ),
)

# --- robust ---
_JWT_FORMAT = ("KLAVI-AUTH-004", "KLEARSTACK-AUTH-010", "KSTACK-PW-004", "OPSNOW-AUTH-008")
_MALFORMED = {
    "jwt-payload-not-json": "The access token's payload segment is not JSON.",
    "jwt-payload-list": "The access token's payload is a JSON list, not an object.",
    "jwt-exp-infinite": "The access token's exp is 1e999 (infinite once parsed).",
    "jwt-exp-nan": "The access token's exp is NaN.",
    "jwt-payload-deep": "The access token's payload nests JSON 2,000 levels deep.",
    "token-trailing-newline": "The access token ends with a newline.",
}
CATALOGUE += tuple(
    _f(name, description + " The mock still accepts it.", _JWT_FORMAT, "issuance", malformed_token=name)
    for name, description in _MALFORMED.items()
)
CATALOGUE += (
    _f(
        "gateway-503",
        "Every 3rd request (or every N-th: gateway-503=N), raw-socket ones included, gets a gateway's HTML 503 page "
        "without Retry-After.",
        (),
        "middleware",
        kind="infrastructure",
        param="gateway_503_every",
        gateway_503_every=3,
    ),
    _f(
        "truncated-body",
        "Every 5th response (or every N-th: truncated-body=N) declares a longer body than it sends, then closes.",
        (),
        "middleware",
        kind="infrastructure",
        param="truncate_every",
        truncate_every=5,
    ),
    _f(
        "broken-gzip",
        "Every 5th response (or every N-th: broken-gzip=N) says Content-Encoding: gzip over bytes that are not gzip.",
        (),
        "middleware",
        kind="infrastructure",
        param="broken_gzip_every",
        broken_gzip_every=5,
    ),
    _f(
        "probe-missing",
        "The probe endpoint answers 404: a suite configured with the wrong probe must say so, not judge the vendor.",
        (),
        "middleware",
        kind="configuration",
        probe_missing=True,
    ),
)

FAULTS: dict[str, Fault] = {f.name: f for f in CATALOGUE}


# --- verdicts: readings ---
# Another plausible reading of something the docs leave open: a faithful vendor could behave this way, so the whole
# suite (contract part included) must still exit 0 (warnings allowed). `claims` names the assumed claims, and
# `varies` the spec's x-assumption or profile guess, that the reading varies.


def _r(
    name: str, description: str, varies: str, claims: Iterable[str] = (), vendors: Iterable[str] = ALL, **kw: Any
) -> Fault:
    return Fault(name, description, tuple(claims), tuple(vendors), "reading", "reading", kw, None, varies)


READING_CATALOGUE: tuple[Fault, ...] = (
    _r(
        "probe-body-wrapped",
        'The probe answers its 200 body wrapped in another object ({"result": ...}).',
        "x-assumption of every probe operation: response shape not documented",
        probe_body_wrapped=True,
    ),
    _r(
        "key-list-bare-array",
        'GET /v1/api-keys answers a bare JSON array of keys, not {"data": [...]}.',
        "x-assumption of GET /v1/api-keys 200: a data array of key summaries",
        vendors=("knowledgestack",),
        list_unwrapped=True,
    ),
    _r(
        "validation-422",
        "A malformed or incomplete body gets 422 instead of 400.",
        "x-assumption of the 400 responses: status and body for a malformed body are not documented",
        ("KLEARSTACK-AUTH-013", "OPSNOW-AUTH-009"),
        vendors=("klavi", "klearstack", "opsnow"),
        validation_status=422,
    ),
    _r(
        "validation-400",
        "A JSON body with a missing or mistyped field gets 400 instead of 422.",
        "x-assumption of the 422 responses: status and body for an invalid field are not documented",
        ("KSTACK-PW-005",),
        vendors=("knowledgestack",),
        validation_status=400,
    ),
    _r(
        "issued-201",
        "Token issuance answers 201 Created instead of 200.",
        "profile issue.status: the doc gives no success status",
        vendors=("klearstack", "opsnow", "knowledgestack"),
        issue_status=201,
    ),
    _r(
        "no-content-as-200",
        "Sign-out and key deletion answer 200 with a small JSON body instead of 204.",
        "x-assumption of the sign-out and delete 204 responses",
        vendors=("knowledgestack",),
        no_content_as_200=True,
    ),
    _r(
        "challenge-variant",
        "A 401 offers Basic first, then Bearer with other parameters (scope, no realm) in one header.",
        "x-assumption of the WWW-Authenticate header: the RFC 6750 §3 challenge's parameters",
        challenge_variant=True,
    ),
    _r(
        "expirein-string",
        'expireIn is the string "1800" instead of the number.',
        "x-assumption of expireIn: typed string in the field table, a number in the example",
        vendors=("klavi",),
        lifetime_as_string=True,
    ),
    _r(
        "error-body-variant",
        'Undocumented error bodies are {"statusCode": ..., "message": ...} instead of error/error_description.',
        "x-assumption of the Error schema: the RFC 6749 §5.2 / RFC 6750 §3 fields",
        error_body_variant=True,
    ),
    _r(
        "error-body-plain-text",
        "Undocumented 4xx bodies are plain text, not JSON.",
        "CONV-JSON-ERRORS and the x-assumption of the Error schema",
        ("CONV-JSON-ERRORS",),
        errors_json=False,
    ),
    _r(
        "sso-unknown-tenant-404",
        "SSO initiation answers 404 for an unknown tenant (400 stays for an unregistered redirect_uri).",
        "x-assumption of POST /v1/auth/sso/initiate 400: how an unknown tenant is answered",
        vendors=("knowledgestack",),
        sso_unknown_tenant_status=404,
    ),
    _r(
        "no-single-key-read",
        "GET /v1/api-keys/{api_key_id} does not exist: 405 (DELETE is the only method of that path).",
        "x-assumption of GET /v1/api-keys/{api_key_id}: the doc documents no read of a single key",
        vendors=("knowledgestack",),
        single_key_read=False,
    ),
    _r(
        "refresh-rotates",
        "getaccesstokenfromrefreshtoken also returns a new refresh_token.",
        "x-assumption of the refresh response: whether it also returns a refresh token",
        vendors=("klearstack",),
        refresh_rotates=True,
    ),
)

READINGS: dict[str, Fault] = {r.name: r for r in READING_CATALOGUE}


class FaultError(ValueError):
    """A fault name (or its parameter) is unknown, malformed or does not apply to the vendor."""


def parse(spec: str) -> tuple[Fault, Any]:
    """A fault and its knob value from "name" or "name=value" (the value only for infrastructure faults)."""
    if not isinstance(spec, str):
        raise FaultError(f"fault names are strings, not {spec!r}")
    name, sep, raw = spec.partition("=")
    fault = FAULTS.get(name) or READINGS.get(name)
    if fault is None:
        raise FaultError(f"unknown fault {name!r} (known: {', '.join(FAULTS)}; readings: {', '.join(READINGS)})")
    if not sep:
        return fault, fault.changes.get(fault.param) if fault.param else None
    if fault.param is None:
        raise FaultError(f"fault {name!r} takes no value")
    kind = type(fault.changes[fault.param])
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value != value or value < (0 if kind is float else 1) or value > 3600:
        raise FaultError(f"fault {name!r} needs a {'number of seconds' if kind is float else 'count'}, not {raw!r}")
    return fault, value


def validate(specs: Iterable[str], vendor: str) -> tuple[str, ...]:
    """The fault specs, checked to exist and to apply to `vendor`, without duplicates, in the given order."""
    seen: dict[str, str] = {}
    for spec in specs:
        fault, _ = parse(spec)
        if not applies(fault, vendor):
            raise FaultError(f"fault {fault.name!r} does not apply to {vendor} (only {', '.join(fault.vendors)})")
        seen[fault.name] = spec
    return tuple(seen.values())


def applicable(specs: Iterable[str], vendor: str) -> tuple[str, ...]:
    """The subset of (valid) fault specs that apply to `vendor`; unknown names still raise."""
    return tuple(s for s in specs if applies(parse(s)[0], vendor))


def applies(fault: Fault, vendor: str) -> bool:
    """Whether `fault` applies to `vendor`; for a vendor made only of data, by what its profile has."""
    return vendor in fault.vendors or reach.reaches(fault.name, fault.vendors, VENDORS, vendor)


def claims_broken(fault: Fault, vendor: str) -> tuple[str, ...]:
    """The claims `fault` breaks at `vendor` (a vendor made only of data: its own claims of the same checks)."""
    return fault.claims if vendor in VENDORS else reach.claims_broken(fault.claims, vendor, fault.name)


def policy(specs: Iterable[str]) -> Policy:
    """The behaviour that the composed faults give."""
    changes: dict[str, Any] = {}
    for spec in specs:
        fault, value = parse(spec)
        changes.update(fault.changes)
        if fault.param:
            changes[fault.param] = value
    return dataclasses.replace(Policy(), **changes)
