"""Alembic's entry point for Kite: run on the connection that ``kite.storage.migrate`` passes.

That connection is already inside a transaction holding the migration lock, so
every migration of one upgrade commits together, or not at all.
"""

from alembic import context

from kite.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
