import psycopg
import pytest

from chatgate.dsn import parse_dsn


@pytest.mark.db
def test_empty_db_is_reachable(empty_db: str) -> None:
    with psycopg.connect(parse_dsn(empty_db).psycopg_conninfo()) as conn:
        assert conn.execute("select current_database()").fetchone()[0] in empty_db
