"""The database: PostgreSQL (psycopg2) in the lab, SQLite for the tests.

Configured from the environment (DB_ENGINE=postgres|sqlite, DB_NAME, DB_HOST,
DB_PORT, DB_USER, DB_PASSWORD, DB_CONNECT_TIMEOUT in seconds, default 30:
a new PostgreSQL session under emulation on a loaded host can take over 5). Queries are written with `?` placeholders
and translated for psycopg2. One connection per request (Flask's `g`).
"""
import os
import sqlite3

from flask import current_app, g, has_app_context

from .migrations import MIGRATIONS

try:
    import psycopg2
except ImportError:  # the tests run on SQLite without it
    psycopg2 = None


class DatabaseError(Exception):
    """The database could not be reached or refused a query."""


def config_from_env(env=None):
    env = os.environ if env is None else env
    return {
        "DB_ENGINE": env.get("DB_ENGINE", "postgres"),
        "DB_NAME": env.get("DB_NAME", "notes"),
        "DB_HOST": env.get("DB_HOST", "db"),
        "DB_PORT": int(env.get("DB_PORT", "5432")),
        "DB_USER": env.get("DB_USER", "notes"),
        "DB_PASSWORD": env.get("DB_PASSWORD", ""),
        "DB_CONNECT_TIMEOUT": int(env.get("DB_CONNECT_TIMEOUT", "30")),
    }


def _config():
    return current_app.config if has_app_context() else config_from_env()


def engine(config=None):
    return (config or _config())["DB_ENGINE"]


def connect(config=None):
    """A new connection (autocommit off)."""
    config = config or _config()
    try:
        if config["DB_ENGINE"] == "sqlite":
            return sqlite3.connect(config["DB_NAME"], detect_types=sqlite3.PARSE_DECLTYPES)
        if psycopg2 is None:
            raise DatabaseError("DB_ENGINE=postgres needs psycopg2 (Debian: python3-psycopg2)")
        return psycopg2.connect(
            dbname=config["DB_NAME"], host=config["DB_HOST"], port=config["DB_PORT"],
            user=config["DB_USER"], password=config["DB_PASSWORD"],
            connect_timeout=config.get("DB_CONNECT_TIMEOUT", 30),
        )
    except (sqlite3.Error, Exception) as err:
        if isinstance(err, DatabaseError):
            raise
        raise DatabaseError(f"cannot connect: {err}") from err


def _sql(text, config=None):
    return text if engine(config) == "sqlite" else text.replace("?", "%s")


def _conn():
    if "db" not in g:
        g.db = connect()
    return g.db


def close(_exc=None):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def _run(fn):
    conn = _conn()
    try:
        result = fn(conn.cursor())
        conn.commit()
        return result
    except DatabaseError:
        raise
    except Exception as err:
        conn.rollback()
        if _is_db_error(err):
            raise DatabaseError(str(err)) from err
        raise


def _is_db_error(err):
    return isinstance(err, sqlite3.Error) or (psycopg2 is not None and isinstance(err, psycopg2.Error))


def query_one(text, params=()):
    def fn(cur):
        cur.execute(_sql(text), params)
        return cur.fetchone()
    return _run(fn)


def query_all(text, params=()):
    def fn(cur):
        cur.execute(_sql(text), params)
        return cur.fetchall()
    return _run(fn)


def insert(text, params=()):
    """Runs an INSERT; returns the new row's id."""
    def fn(cur):
        if engine() == "sqlite":
            cur.execute(text, params)
            return cur.lastrowid
        cur.execute(_sql(text) + " RETURNING id", params)
        return cur.fetchone()[0]
    return _run(fn)


def schema_version():
    """The newest migration applied (name), or None."""
    row = query_one("SELECT name FROM schema_migrations ORDER BY name DESC LIMIT 1")
    return row[0] if row else None


def latest_migration():
    return MIGRATIONS[-1][0]
