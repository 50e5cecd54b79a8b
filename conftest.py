"""Marks the checkout's root and loads the suites' fixtures from ``fixtures/``.

The options, settings and reports come from mirrorcheck's pytest plugin
(entry point ``pytest11``), so they are there wherever mirrorcheck is installed.
"""

pytest_plugins = [
    "fixtures.run",
    "fixtures.lab",
    "fixtures.deployment",
    "fixtures.node_readings",
    "fixtures.tls",
]
