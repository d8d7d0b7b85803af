"""flask-release: a small Flask app that shows which release it runs and
keeps a table of notes in its database (PostgreSQL in the lab, SQLite in
the tests).

Configuration from the environment:
  DATABASE_URL  postgresql://USER:PASSWORD@HOST/NAME or sqlite:///PATH
  APP_STAGE     the environment it serves (prod, preprod, test)
The release it runs is read from files beside this package: VERSION (in
the repository, one per release tag) and REVISION (the commit, written at
deploy time).
"""

import os
import socket

from flask import Flask, abort, jsonify, render_template_string, request

from . import db

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PAGE = """<!doctype html>
<html><head><title>flask-release {{ version }}</title></head>
<body>
<h1>flask-release {{ version }}</h1>
<p>{{ stage }} on {{ host }}, release {{ release }} ({{ revision[:12] }})</p>
<h2>Notes</h2>
<ul>{% for n in notes %}<li>{{ n.text }}</li>{% else %}<li>none yet</li>{% endfor %}</ul>
<form method="post" action="/notes"><input name="text"><button>add</button></form>
</body></html>
"""


def _read(name, default):
    try:
        with open(os.path.join(ROOT, name), encoding="utf-8") as f:
            return f.read().strip() or default
    except OSError:
        return default


def release_info():
    """What this process serves: version, release directory, commit."""
    return {
        "app": "flask-release",
        "version": _read("VERSION", "unknown"),
        "revision": _read("REVISION", "unknown"),
        # /var/www/flask-release/releases/v2 -> v2 (the real directory,
        # not the `current` symlink it was started through).
        "release": os.path.basename(os.path.realpath(ROOT)),
        "stage": os.environ.get("APP_STAGE", "dev"),
        "host": socket.gethostname(),
    }


def create_app(database_url=None):
    app = Flask(__name__)
    url = database_url or os.environ.get("DATABASE_URL", "sqlite:///flask-release.sqlite3")
    app.config["DATABASE_URL"] = url
    db.init(url)
    info = release_info()

    @app.get("/")
    def index():
        notes = db.list_notes(url, limit=20)
        return render_template_string(PAGE, notes=notes, **info)

    @app.get("/healthz")
    def healthz():
        return "ok\n", 200, {"Content-Type": "text/plain"}

    @app.get("/version")
    def version():
        return jsonify(info)

    @app.get("/db")
    def database():
        """Proves the database answers: writes a visit, reads the count."""
        visits = db.add_visit(url, info["host"])
        return jsonify(
            {
                "database": db.server_version(url),
                "visits": visits,
                "version": info["version"],
                "release": info["release"],
            }
        )

    @app.get("/notes")
    def notes():
        return jsonify(db.list_notes(url, limit=int(request.args.get("limit", 100))))

    @app.post("/notes")
    def add_note():
        text = (request.get_json(silent=True) or request.form or {}).get("text", "")
        text = text.strip()
        if not text or len(text) > 500:
            abort(400, "text: 1 to 500 characters")
        return jsonify(db.add_note(url, text, info["version"])), 201

    return app
