"""Storage: SQLAlchemy models, sessions, migrations, record queries and imports."""
