"""Alembic environment: runs on the connection that renkei.core.db hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from renkei.core.registry import all_metadata

config = context.config
target_metadata = all_metadata()

connection = config.attributes.get("connection")
if connection is None:  # `alembic` CLI use during development
    url = config.get_main_option("sqlalchemy.url") or "sqlite:///renkei-dev.db"
    with create_engine(url).connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
