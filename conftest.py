"""Registers the suite's pytest plugin for both the scenarios and the project's own tests."""

pytest_plugins = ["conformance.plugin"]
