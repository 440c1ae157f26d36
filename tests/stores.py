"""`@both_stores`: run a test on SQLite and on a real PostgreSQL server (conftest's `db_url`)."""

import pytest

both_stores = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
