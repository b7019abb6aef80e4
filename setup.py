"""Packaging that pyproject.toml cannot say: the top-level specs/ folder ships inside the package."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["conformance", "conformance.*"]), "conformance._specs"],
    package_dir={"conformance._specs": "specs"},
    package_data={
        "conformance._specs": ["*/*.yaml", "*/*.json"],
        # The Allure report tool's pin: installed from this lock into a per-user cache on first use.
        "conformance.report": ["tool/package.json", "tool/package-lock.json"],
    },
)
