"""The server runner: ports, TLS material, canary credentials, lifetime override, running clock."""

from __future__ import annotations

import os
import socket
import time

import pytest

from conformance.mock import MockError, MockServer, start_mocks
from conformance.mock.client import MockClient, claims


def test_context_manager_serves_and_cleans_up() -> None:
    server = MockServer("klearstack")
    with pytest.raises(MockError, match="not started"):
        _ = server.base_url
    with server:
        assert server.tls and server.port > 0
        assert server.ca_path and os.path.exists(server.ca_path)
        ca = server.ca_path
        assert MockClient(server).issue().status_code == 200
    assert not os.path.exists(ca) and server.ca_path is None
    with MockServer("klavi") as plain:
        assert not plain.tls and plain.ca_path is None and plain.base_url.startswith("http://127.0.0.1:")


def test_busy_port_is_a_one_line_mock_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MockError) as info:
            MockServer("opsnow", port=port).start()
        assert str(info.value) == f"port {port} on 127.0.0.1 is busy; choose another with --port"


def test_start_mocks_stops_what_it_started_when_one_fails() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MockError, match="busy"):
            start_mocks(["klavi", "opsnow"], port=port - 1)
    with pytest.raises(MockError, match="applies to none"):
        start_mocks(["klavi"], faults=["multipart-rejected"])
    with pytest.raises(MockError, match="unknown fault"):
        start_mocks(["klavi"], faults=["bogus"])


def test_stop_without_waiting_still_closes_everything() -> None:
    from conformance.mock.server import stop_mocks

    servers = start_mocks(["klearstack", "opsnow"])
    threads = [s._thread for s in servers.values()]
    ports = [s.port for s in servers.values()]
    ca = servers["klearstack"].ca_path
    assert MockClient(servers["klearstack"]).issue().status_code == 200
    stop_mocks(servers.values(), wait=False)
    assert ca and not os.path.exists(ca)  # TLS material goes at once: it is only read at start-up
    with pytest.raises(MockError, match="not started"):
        _ = servers["opsnow"].base_url
    for thread in threads:
        assert thread is not None
        thread.join(timeout=10)
        assert not thread.is_alive()
    for port in ports:
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


def test_canary_credentials_replace_the_profile_ones() -> None:
    with MockServer("opsnow", credentials={"api_key": "canary-7f3a"}) as server:
        client = MockClient(server)
        assert server.credentials == {"api_key": "canary-7f3a"}
        assert client.issue().status_code == 200
        assert client.issue(apiKey="mock-opsnow-api-key").status_code == 401
        assert "canary-7f3a" not in str(server.log())


def test_start_mocks_takes_credentials_per_vendor() -> None:
    servers = start_mocks(["klavi", "opsnow"], credentials={"opsnow": {"api_key": "canary-b2"}})
    try:
        assert servers["opsnow"].credentials == {"api_key": "canary-b2"}
        assert servers["klavi"].credentials["access_key"] == "mock-access-key"
    finally:
        for server in servers.values():
            server.stop()
    with pytest.raises(MockError, match="vendors not started: klearstack"):
        start_mocks(["klavi"], credentials={"klearstack": {"username": "x"}})


def test_lifetime_override_applies_to_every_vendor() -> None:
    servers = start_mocks(["klearstack", "klavi", "opsnow", "knowledgestack"], lifetime=5)
    try:
        for vendor, server in servers.items():
            client = MockClient(server)
            body = client.issued()
            token = claims(body[client.profile["issue"]["token_field"]])
            assert token["exp"] - token["iat"] == 5, vendor
            field = client.profile["issue"].get("lifetime_field")
            if field:
                assert body[field] == 5
            assert server.info()["lifetimes"]["access"] == 5
    finally:
        for server in servers.values():
            server.stop()


def test_running_clock_expires_tokens_in_real_time() -> None:
    with MockServer("klavi", clock="running", lifetime=1) as server:
        client = MockClient(server)
        token = client.token()
        assert server.info()["clock"]["mode"] == "running"
        exp = claims(token)["exp"]
        while time.time() < exp:
            time.sleep(0.05)
        assert client.probe(token).status_code == 401
        assert server.advance(100) >= exp + 100


def test_two_mocks_of_one_vendor_do_not_share_secrets() -> None:
    with MockServer("klavi") as a, MockServer("klavi") as b:
        token = MockClient(a).token()
        assert MockClient(a).probe(token).status_code == 200
        assert MockClient(b).probe(token).status_code == 401
