"""The library versions that shape a pickled estimator, and how an artifact's compare.

scikit-learn pickles are only guaranteed to load in the version that wrote them,
so every listed package must match exactly. Python is compared on major.minor
only: pickles do not change between patch releases.
"""

from __future__ import annotations

import platform
from importlib import metadata as package_metadata
from typing import Any, Final

_VERSIONED_PACKAGES: Final[dict[str, str]] = {
    "scikit-learn": "scikit-learn",
    "category_encoders": "category-encoders",
    "numpy": "numpy",
    "pandas": "pandas",
}


def library_versions() -> dict[str, str]:
    """Versions of everything that shapes the pickled estimator, as running now."""
    versions = {key: package_metadata.version(dist) for key, dist in _VERSIONED_PACKAGES.items()}
    versions["python"] = platform.python_version()
    return versions


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def version_differences(recorded: dict[str, Any]) -> list[str]:
    """``"name then (artifact) vs now (running)"`` for each version that differs."""
    differences = []
    for name, now in library_versions().items():
        then = recorded.get(name)
        same = (
            then is not None and _major_minor(str(then)) == _major_minor(now)
            if name == "python"
            else then == now
        )
        if not same:
            differences.append(f"{name} {then} (artifact) vs {now} (running)")
    return differences
