"""Imports every domain's tables so that the metadata (and Alembic) sees them all."""

from __future__ import annotations

from sqlalchemy import MetaData


def all_metadata() -> MetaData:
    from renkei.console import store as console_store  # noqa: F401  (the console tables)
    from renkei.core import models
    from renkei.incidents import store as incidents_store  # noqa: F401  (the incidents tables)
    from renkei.logs import store  # noqa: F401  (registers the logs tables)
    from renkei.plan import store as plan_store  # noqa: F401  (the plan tables)
    from renkei.sensors import store as sensors_store  # noqa: F401  (the sensors tables)
    from renkei.sharing import store as sharing_store  # noqa: F401  (the sharing tables)
    from renkei.vulns import store as vulns_store  # noqa: F401  (the vulns tables)

    return models.Base.metadata
