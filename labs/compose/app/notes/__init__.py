"""notes: a small Flask app of short notes on PostgreSQL (SQLite for its tests).

Routes:
  GET  /               the notes, newest first (HTML)
  GET  /healthz        200 {"status": "ok", ...} when the notes table answers, else 503
  GET  /api/notes      the notes (JSON list)
  POST /api/notes      {"text": "..."} -> 201 with the new note
  GET  /api/notes/ID   one note, 404 when there is none

The schema is made by `python3 -m notes.migrate` (the compose file's one-shot
`setup` service), never by the web process.
"""
import os
import socket

from flask import Flask, abort, jsonify, render_template_string, request

from . import db

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>notes</title></head>
<body>
<h1>notes</h1>
<form method="post" action="{{ url_for('add_form') }}">
  <input name="text" maxlength="{{ max_len }}" required> <button>add</button>
</form>
<ul>
{% for n in notes %}  <li>{{ n.text }} <small>#{{ n.id }}, {{ n.created_at }}</small></li>
{% else %}  <li>no notes yet</li>
{% endfor %}</ul>
<p><small>served by {{ host }}</small></p>
</body></html>
"""

MAX_LEN = 500


def create_app(config=None):
    app = Flask(__name__)
    app.config.update(db.config_from_env())
    if config:
        app.config.update(config)
    app.teardown_appcontext(db.close)
    host = os.environ.get("NODE_NAME") or socket.gethostname()

    @app.after_request
    def served_by(response):
        response.headers["X-Served-By"] = host
        return response

    @app.errorhandler(db.DatabaseError)
    def database_down(err):
        response = jsonify(error="database unavailable", detail=str(err).strip()[:200])
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @app.get("/healthz")
    def healthz():
        count = db.query_one("SELECT COUNT(*) FROM notes")[0]
        return jsonify(status="ok", notes=count, schema=db.schema_version(), engine=db.engine())

    @app.get("/")
    def index():
        return render_template_string(PAGE, notes=list_notes(), host=host, max_len=MAX_LEN)

    @app.post("/")
    def add_form():
        note = add_note(request.form.get("text", ""))
        return render_template_string(PAGE, notes=list_notes(), host=host, max_len=MAX_LEN), 201 if note else 400

    @app.get("/api/notes")
    def api_list():
        return jsonify(list_notes())

    @app.post("/api/notes")
    def api_add():
        payload = request.get_json(silent=True) or {}
        text = payload.get("text") if isinstance(payload, dict) else None
        note = add_note(text if isinstance(text, str) else "")
        if note is None:
            return jsonify(error=f"text: a non-empty string of at most {MAX_LEN} characters"), 400
        return jsonify(note), 201

    @app.get("/api/notes/<int:note_id>")
    def api_get(note_id):
        row = db.query_one("SELECT id, text, created_at FROM notes WHERE id = ?", (note_id,))
        if row is None:
            abort(404)
        return jsonify(as_note(row))

    return app


def as_note(row):
    return {"id": row[0], "text": row[1], "created_at": str(row[2])}


def list_notes():
    return [as_note(r) for r in db.query_all("SELECT id, text, created_at FROM notes ORDER BY id DESC")]


def add_note(text):
    """The new note, or None when `text` is not acceptable."""
    text = (text or "").strip()
    if not text or len(text) > MAX_LEN:
        return None
    note_id = db.insert("INSERT INTO notes (text) VALUES (?)", (text,))
    return as_note(db.query_one("SELECT id, text, created_at FROM notes WHERE id = ?", (note_id,)))
