"""Alembic environment for the workspace database: always run from ``ipafstudy.workspace.db.upgrade``.

The connection comes from ``config.attributes["connection"]`` (opened by the caller, so SQLite's BEGIN IMMEDIATE
set-up and the PostgreSQL driver choice are the workspace's own); there is no alembic.ini and no logging set-up.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable when someone runs the alembic CLI by hand
    raise RuntimeError("run the workspace migrations through ipafstudy.workspace.db.upgrade(engine)")

# render_as_batch: SQLite cannot ALTER most things; batch mode copies the table (no-op cost on PostgreSQL).
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
