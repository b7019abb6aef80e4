"""Scenario fixtures shared by every scenario module (the plugin itself is registered by the root conftest)."""
