"""Check response bodies against the upstream Gcore OpenAPI (gcore-cloud-instances.openapi.yaml).

A copy of the project's shared/reference files sits in tests/reference, so a clone alone runs these checks
(``CLOUDLET_REFERENCE_DIR`` points them elsewhere). Without the file the check skips with a reason.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

REFERENCE_DIR = Path(os.environ.get("CLOUDLET_REFERENCE_DIR") or Path(__file__).resolve().parent / "reference")
SPEC = REFERENCE_DIR / "gcore-cloud-instances.openapi.yaml"


@functools.cache
def _components() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SPEC.read_text(), Loader=loader)["components"]  # type: ignore[no-any-return]


def check(component: str, body: Any, *, patch: dict[str, dict[str, Any]] | None = None) -> None:
    """Assert ``body`` is valid for ``#/components/schemas/<component>``; ``patch`` replaces property schemas
    ({"Schema": {"property": {...}}}) where the spec is known to disagree with Gcore's real answers."""
    from jsonschema import Draft202012Validator

    if not SPEC.exists():
        pytest.skip(f"the upstream OpenAPI is not at {SPEC} (set CLOUDLET_REFERENCE_DIR)")
    components = _components()
    if patch:
        components = copy.deepcopy(components)
        for schema, properties in patch.items():
            components["schemas"][schema]["properties"].update(properties)
    validator = Draft202012Validator({"$ref": f"#/components/schemas/{component}", "components": components})
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, f"not a valid {component}:\n" + "\n".join(errors[:20])
