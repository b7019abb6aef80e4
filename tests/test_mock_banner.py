"""The `conformance mock` banner: per vendor the token endpoint, its body fields, and a curl line that works."""

from __future__ import annotations

import io
import json
import shlex
import shutil
import subprocess

import pytest

from conformance import specs
from conformance.mock.cli import describe


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_banner_curl_lines_get_a_token(servers) -> None:
    out = io.StringIO()
    describe(servers, out)
    banner = out.getvalue().splitlines()
    for vendor, server in servers.items():
        issue = specs.load_profile(vendor)["issue"]
        token_line = next(
            i for i, line in enumerate(banner) if line.startswith(f"  token: {issue['method']} {server.base_url}")
        )
        assert all(field in banner[token_line] for field in issue["fields"]), banner[token_line]
        curl = banner[token_line + 1].strip()
        assert curl.startswith("curl ")
        proc = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        assert isinstance(json.loads(proc.stdout).get(issue["token_field"]), str), f"{vendor}: {proc.stdout[:200]}"
