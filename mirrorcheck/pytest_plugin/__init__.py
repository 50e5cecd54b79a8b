"""mirrorcheck's pytest plugin, registered through the ``pytest11`` entry point.

- ``mirrorcheck.pytest_plugin.options``: the options, the run's ``Settings``,
  the run id shared with xdist's workers, collection order and the final sweep;
- ``mirrorcheck.pytest_plugin.reports``: junit.xml, summary.json, report.html
  and the terminal's verdict, for runs of the suites.

The fixtures the suites use live in the checkout's ``fixtures/`` folder,
loaded by its root ``conftest.py``.
"""
