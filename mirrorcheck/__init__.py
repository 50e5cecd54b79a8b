"""mirrorcheck: verification suites for Docker registry pull-through caches.

Layers (each knows nothing of the ones below it in this list):

- ``mirrorcheck.rules``   pure judgement on data (daemon.json, registry config, limitations)
- ``mirrorcheck.probes``  how things are observed (Registry API, access logs, counters, TLS)
- ``mirrorcheck.targets`` what is under test (the hermetic lab, a live deployment)
- ``mirrorcheck.pytest_plugin.options``  the thin pytest wiring over all of the above
"""
