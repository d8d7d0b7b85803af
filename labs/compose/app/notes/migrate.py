"""python3 -m notes.migrate: applies the migrations not applied yet, in order,
each in its own transaction with its row in schema_migrations, and prints
what it did. Exit 0 when the schema is current (also when nothing was left to
do), 1 when the database refused. Run by the compose file's one-shot `setup`
service before the app starts; safe to run again, also concurrently on
PostgreSQL (an advisory lock serialises the runs)."""
import sys

from . import db
from .migrations import MIGRATIONS

LOCK_ID = 7733  # pg_advisory_lock key of this app's migrations


def migrate(config=None, out=print):
    """Applies the missing migrations; returns the names applied."""
    config = config or db.config_from_env()
    conn = db.connect(config)
    eng = config["DB_ENGINE"]
    applied_now = []
    try:
        cur = conn.cursor()
        if eng == "postgres":
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR(100) PRIMARY KEY,"
            " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        conn.commit()
        cur.execute("SELECT name FROM schema_migrations")
        done = {r[0] for r in cur.fetchall()}
        for name, statements in MIGRATIONS:
            if name in done:
                continue
            for statement in statements[eng]:
                cur.execute(statement)
            cur.execute(
                "INSERT INTO schema_migrations (name) VALUES (%s)" if eng == "postgres"
                else "INSERT INTO schema_migrations (name) VALUES (?)",
                (name,),
            )
            conn.commit()
            applied_now.append(name)
            out(f"applied {name}")
        if not applied_now:
            out(f"no migrations to apply (schema at {MIGRATIONS[-1][0]})")
        if eng == "postgres":
            cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))
            conn.commit()
    finally:
        conn.close()
    return applied_now


def main():
    try:
        migrate()
    except Exception as err:  # noqa: BLE001 - one line for the container log
        print(f"migrate: FAILED: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
