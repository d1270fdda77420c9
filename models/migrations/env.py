"""Alembic environment: runs on the connection given by models.db.migrate, or
on the URL of alembic's config (``alembic -x url=...`` from the command line)."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from models.orm import Base

target_metadata = Base.metadata


def _render_item(type_, obj, autogen_context):
    if type_ == "type" and obj.__class__.__name__ == "Geometry":
        autogen_context.imports.add("from models.types import Geometry")
        return f"Geometry({obj.geometry_type!r})"
    return False


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
        with create_engine(url).connect() as conn:
            _run(conn)
            conn.commit()
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_item=_render_item,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run()
