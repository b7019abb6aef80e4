"""Hand-written conformance scenarios: each composes named checks and is selected by profile capability."""
