"""Stateful vendor mocks: one ASGI app per vendor, a movable clock, named faults, a real-socket server runner.

Modules: core (clock, state), tokens (JWTs, API keys), authz (Authorization header, challenges),
bodies (request bodies, `Reject`), faults (catalogue, `Policy`), app (shared request machinery),
middleware (request log, infrastructure faults, no-5xx guard), control (the /_mock/ API),
klearstack / klavi / opsnow / knowledgestack (the vendors), server (`MockServer`, `start_mocks`),
client (`MockClient`, for self-tests and trying a mock by hand), cli (`conformance mock`).
"""

from conformance.mock.app import MockError, build_app
from conformance.mock.core import Clock, MockState
from conformance.mock.faults import CATALOGUE, FAULTS, VENDORS, Fault, Policy
from conformance.mock.server import MockServer, start_mocks

__all__ = [
    "CATALOGUE",
    "FAULTS",
    "VENDORS",
    "Clock",
    "Fault",
    "MockError",
    "MockServer",
    "MockState",
    "Policy",
    "build_app",
    "start_mocks",
]
