"""Warning categories the TLS checks raise, importable wherever a warning is rebuilt.

A category defined in a suite module cannot be rebuilt by pytest-xdist's
controller, which imports it by module name; these live in the library.

Usage::

    import warnings
    from mirrorcheck.rules.tls.warning_types import PlainPortPublished

    warnings.warn(PlainPortPublished("port 5000 is published on every node"), stacklevel=1)
"""

from __future__ import annotations


class PlainPortPublished(UserWarning):
    """The stack publishes the registry's plain port; this run could not reach it."""
