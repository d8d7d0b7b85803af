"""The app's two tables, on PostgreSQL (psycopg2) or SQLite (tests).

Each call opens its own connection: a small app, and nothing is shared
between gunicorn's workers. The tables are created when the app starts;
on PostgreSQL under an advisory lock, so workers starting together do not
race.
"""

import os
import sqlite3
from contextlib import closing

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS notes (
        id {serial} PRIMARY KEY,
        text VARCHAR(500) NOT NULL,
        version VARCHAR(50) NOT NULL,
        created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS visits (
        id {serial} PRIMARY KEY,
        host VARCHAR(100) NOT NULL,
        created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
]
LOCK_ID = 7731


def _is_pg(url):
    return url.startswith(("postgresql://", "postgres://"))


def connect(url):
    if _is_pg(url):
        import psycopg2  # Debian's python3-psycopg2; not needed for SQLite

        # A new PostgreSQL session under emulation on a loaded host can take
        # over 5 s; DB_CONNECT_TIMEOUT (seconds) overrides the 30 s here.
        timeout = int(os.environ.get("DB_CONNECT_TIMEOUT", "30"))
        return psycopg2.connect(url, connect_timeout=timeout)
    if not url.startswith("sqlite:///"):
        raise ValueError("DATABASE_URL must be postgresql://... or sqlite:///PATH")
    return sqlite3.connect(url[len("sqlite:///"):], timeout=10)


def _param(url):
    return "%s" if _is_pg(url) else "?"


def init(url):
    with closing(connect(url)) as conn:
        cur = conn.cursor()
        if _is_pg(url):
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_ID,))
        for stmt in SCHEMA:
            serial = "SERIAL" if _is_pg(url) else "INTEGER"
            cur.execute(stmt.format(serial=serial))
        conn.commit()


def server_version(url):
    with closing(connect(url)) as conn:
        cur = conn.cursor()
        if _is_pg(url):
            cur.execute("SHOW server_version")
            return "PostgreSQL " + cur.fetchone()[0]
        cur.execute("SELECT sqlite_version()")
        return "SQLite " + cur.fetchone()[0]


def add_visit(url, host):
    p = _param(url)
    with closing(connect(url)) as conn:
        cur = conn.cursor()
        cur.execute(f"INSERT INTO visits (host) VALUES ({p})", (host,))
        cur.execute("SELECT COUNT(*) FROM visits")
        count = cur.fetchone()[0]
        conn.commit()
        return count


def add_note(url, text, version):
    p = _param(url)
    with closing(connect(url)) as conn:
        cur = conn.cursor()
        if _is_pg(url):
            cur.execute(
                f"INSERT INTO notes (text, version) VALUES ({p}, {p}) RETURNING id", (text, version)
            )
            note_id = cur.fetchone()[0]
        else:
            cur.execute(f"INSERT INTO notes (text, version) VALUES ({p}, {p})", (text, version))
            note_id = cur.lastrowid
        conn.commit()
        return {"id": note_id, "text": text, "version": version}


def list_notes(url, limit=100):
    p = _param(url)
    with closing(connect(url)) as conn:
        cur = conn.cursor()
        cur.execute(f"SELECT id, text, version FROM notes ORDER BY id DESC LIMIT {p}", (limit,))
        return [{"id": i, "text": t, "version": v} for i, t, v in cur.fetchall()]
