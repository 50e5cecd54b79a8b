"""Loads mirrorcheck's pytest plugin for the suites and the project's own tests."""

pytest_plugins = ["fixtures.plugin", "fixtures.report.plugin"]
