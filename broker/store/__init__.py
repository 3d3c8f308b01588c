"""SQLAlchemy 2 (async) stores: SQLite by default, PostgreSQL by URL."""
