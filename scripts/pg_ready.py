"""Exit 0 when the PostgreSQL server of the URL given answers within 3 seconds, 1 otherwise."""

import sys

import dj_database_url
import psycopg

config = dj_database_url.parse(sys.argv[1])
try:
    psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"] or "postgres",
        password=config["PASSWORD"] or None,
        dbname="postgres",
        connect_timeout=3,
    ).close()
except psycopg.Error as exc:
    sys.stderr.write(f"PostgreSQL at {config['HOST']}:{config['PORT']} does not answer: {exc}\n")
    sys.exit(1)
