"""The JSON Schema (draft 2020-12) that every ``summary.json`` follows.

Usage::

    import jsonschema
    from mirrorcheck.report.schema import load_schema

    jsonschema.validate(document, load_schema(), cls=jsonschema.Draft202012Validator)
"""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("summary.schema.json")


def load_schema() -> dict:
    """``summary.schema.json`` beside this module, parsed."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
