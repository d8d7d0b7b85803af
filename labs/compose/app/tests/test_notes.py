"""The notes app on SQLite: migrations, the API, the page, health and errors."""
import os
import tempfile
import unittest

from notes import create_app, db
from notes.migrate import migrate
from notes.migrations import MIGRATIONS


class NotesTest(unittest.TestCase):
    def setUp(self):
        fd, self.path = tempfile.mkstemp(suffix=".sqlite3")
        os.close(fd)
        self.config = {"DB_ENGINE": "sqlite", "DB_NAME": self.path}
        self.applied = migrate(dict(db.config_from_env({}), **self.config), out=lambda _line: None)
        self.app = create_app(self.config)
        self.client = self.app.test_client()

    def tearDown(self):
        os.unlink(self.path)

    def test_migrations_apply_once_in_order(self):
        self.assertEqual(self.applied, [name for name, _ in MIGRATIONS])
        lines = []
        again = migrate(dict(db.config_from_env({}), **self.config), out=lines.append)
        self.assertEqual(again, [])
        self.assertEqual(lines, [f"no migrations to apply (schema at {MIGRATIONS[-1][0]})"])

    def test_healthz_reports_schema_and_count(self):
        res = self.client.get("/healthz")
        self.assertEqual(res.status_code, 200)
        self.assertEqual(res.get_json(), {"status": "ok", "notes": 0, "schema": MIGRATIONS[-1][0], "engine": "sqlite"})
        self.assertIn("X-Served-By", res.headers)

    def test_add_list_and_get(self):
        res = self.client.post("/api/notes", json={"text": "  first  "})
        self.assertEqual(res.status_code, 201)
        first = res.get_json()
        self.assertEqual(first["text"], "first")
        second = self.client.post("/api/notes", json={"text": "second"}).get_json()
        self.assertGreater(second["id"], first["id"])
        self.assertEqual([n["text"] for n in self.client.get("/api/notes").get_json()], ["second", "first"])
        self.assertEqual(self.client.get(f"/api/notes/{first['id']}").get_json()["text"], "first")
        self.assertEqual(self.client.get("/api/notes/999").status_code, 404)
        self.assertEqual(self.client.get("/healthz").get_json()["notes"], 2)

    def test_rejects_bad_notes(self):
        for body in ({}, {"text": ""}, {"text": "   "}, {"text": 5}, {"text": "x" * 501}, ["text"]):
            with self.subTest(body=body):
                self.assertEqual(self.client.post("/api/notes", json=body).status_code, 400)
        self.assertEqual(self.client.post("/api/notes", data="not json").status_code, 400)
        self.assertEqual(self.client.get("/api/notes").get_json(), [])

    def test_page_lists_and_escapes(self):
        self.assertIn(b"no notes yet", self.client.get("/").data)
        res = self.client.post("/", data={"text": "<b>bold</b>"})
        self.assertEqual(res.status_code, 201)
        page = self.client.get("/").data
        self.assertIn(b"&lt;b&gt;bold&lt;/b&gt;", page)
        self.assertNotIn(b"<b>bold</b>", page)

    def test_database_gone_answers_503(self):
        app = create_app({"DB_ENGINE": "sqlite", "DB_NAME": "/nonexistent/dir/db.sqlite3"})
        res = app.test_client().get("/healthz")
        self.assertEqual(res.status_code, 503)
        self.assertEqual(res.headers["Retry-After"], "5")
        self.assertEqual(res.get_json()["error"], "database unavailable")

    def test_unmigrated_database_is_not_healthy(self):
        fd, path = tempfile.mkstemp(suffix=".sqlite3")
        os.close(fd)
        try:
            res = create_app({"DB_ENGINE": "sqlite", "DB_NAME": path}).test_client().get("/healthz")
            self.assertEqual(res.status_code, 503)
        finally:
            os.unlink(path)

    def test_sql_placeholders_for_postgres(self):
        self.assertEqual(db._sql("SELECT ? , ?", {"DB_ENGINE": "postgres"}), "SELECT %s , %s")


if __name__ == "__main__":
    unittest.main()
