"""The app's own tests, on SQLite (no PostgreSQL, no VM):
`python3 -m unittest discover -s tests -t .` in app/."""

import os
import tempfile
import unittest

from flaskrelease import create_app, release_info


class AppTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.url = "sqlite:///" + os.path.join(self.tmp.name, "test.sqlite3")
        os.environ["APP_STAGE"] = "test"
        self.client = create_app(self.url).test_client()

    def tearDown(self):
        self.tmp.cleanup()

    def test_healthz(self):
        r = self.client.get("/healthz")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.data, b"ok\n")

    def test_version_names_the_release(self):
        r = self.client.get("/version")
        self.assertEqual(r.status_code, 200)
        d = r.get_json()
        self.assertEqual(d["app"], "flask-release")
        self.assertEqual(d["version"], release_info()["version"])
        self.assertEqual(d["stage"], "test")
        self.assertTrue(d["version"])

    def test_index_shows_the_version(self):
        r = self.client.get("/")
        self.assertEqual(r.status_code, 200)
        self.assertIn(("flask-release " + release_info()["version"]).encode(), r.data)

    def test_db_counts_visits(self):
        first = self.client.get("/db").get_json()
        second = self.client.get("/db").get_json()
        self.assertTrue(first["database"].startswith("SQLite "))
        self.assertEqual(second["visits"], first["visits"] + 1)

    def test_notes_are_written_and_read(self):
        r = self.client.post("/notes", json={"text": "hello"})
        self.assertEqual(r.status_code, 201)
        note = r.get_json()
        self.assertEqual(note["text"], "hello")
        r = self.client.post("/notes", data={"text": "from a form"})
        self.assertEqual(r.status_code, 201)
        listed = self.client.get("/notes").get_json()
        self.assertEqual([n["text"] for n in listed], ["from a form", "hello"])
        self.assertIn(b"hello", self.client.get("/").data)

    def test_empty_note_is_refused(self):
        self.assertEqual(self.client.post("/notes", json={"text": " "}).status_code, 400)
        self.assertEqual(self.client.get("/notes").get_json(), [])

    def test_tables_survive_a_second_start(self):
        self.client.post("/notes", json={"text": "kept"})
        again = create_app(self.url).test_client()
        self.assertEqual([n["text"] for n in again.get("/notes").get_json()], ["kept"])


if __name__ == "__main__":
    unittest.main()
