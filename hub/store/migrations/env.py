"""Alembic environment: runs on the engine the hub hands over (``Store.alembic_config``)."""

from alembic import context

from hub.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from hub.config import load_settings
        from hub.store import make_engine

        engine = make_engine(load_settings()["hub"]["database_url"])
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
