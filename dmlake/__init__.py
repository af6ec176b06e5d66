"""dmlake: a federated data lake and metadata harvester for dark-matter, astroparticle and HEP open data.

For analysts: `from dmlake import Catalog` (see `dmlake.catalog`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmlake.catalog import Catalog

__all__ = ["Catalog"]


def __getattr__(name: str) -> Any:
    # lazily: `import dmlake.lake` (the CLI, the service) should not pay for xarray and pandas
    if name == "Catalog":
        from dmlake.catalog import Catalog

        return Catalog
    raise AttributeError(f"module 'dmlake' has no attribute {name!r}")
