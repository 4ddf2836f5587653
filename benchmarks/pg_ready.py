"""Exit 0 when a PostgreSQL server answers at the given URL, 1 otherwise (used by `make test`)."""

import sys

import psycopg

url = sys.argv[1] if len(sys.argv) > 1 else "postgres://postgres@127.0.0.1:5432/postgres"
try:
    psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=3).close()
except psycopg.Error:
    sys.exit(1)
