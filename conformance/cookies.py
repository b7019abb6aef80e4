"""No ambient credentials: HTTP sessions that never keep a cookie, and the cookies a response tried to set."""

from __future__ import annotations

import http.cookiejar
from collections.abc import Iterable
from http.cookies import CookieError, SimpleCookie

import requests

# A policy that accepts no cookie and returns none: every request carries exactly the credential its scenario chose.
_REFUSE_ALL = http.cookiejar.DefaultCookiePolicy(allowed_domains=[])


def refuse_cookies(session: requests.Session) -> requests.Session:
    """Make `session` forget every Set-Cookie: a vendor's session cookie must never ride along on later requests."""
    session.cookies.clear()
    session.cookies.set_policy(_REFUSE_ALL)
    return session


def cookies_set(header_lists: Iterable[Iterable[tuple[str, str]]]) -> dict[str, str]:
    """Name -> value of every cookie the given responses' Set-Cookie headers tried to set (later ones win)."""
    found: dict[str, str] = {}
    for headers in header_lists:
        for name, value in headers:
            if name.lower() != "set-cookie":
                continue
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value)
            except CookieError:
                continue
            found.update({key: morsel.value for key, morsel in jar.items()})
    return found


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())
