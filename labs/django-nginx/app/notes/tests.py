import json
from unittest import mock

from django.db import DatabaseError
from django.test import Client, TestCase, override_settings

from .models import Note


class PagesTest(TestCase):
    def test_index_lists_notes(self):
        Note.objects.create(text="first note")
        response = self.client.get("/")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "first note")
        self.assertContains(response, "/static/notes/style.css")

    def test_index_empty(self):
        self.assertContains(self.client.get("/"), "No notes yet.")

    def test_form_post_adds_and_redirects(self):
        response = self.client.post("/", {"text": "  from the form  "})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(list(Note.objects.values_list("text", flat=True)), ["from the form"])

    def test_form_post_empty_is_refused(self):
        response = self.client.post("/", {"text": "   "})
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "A note needs", status_code=400)
        self.assertEqual(Note.objects.count(), 0)

    def test_form_post_needs_csrf_token(self):
        client = Client(enforce_csrf_checks=True)
        self.assertEqual(client.post("/", {"text": "x"}).status_code, 403)
        self.assertEqual(Note.objects.count(), 0)

    def test_other_methods_refused(self):
        self.assertEqual(self.client.delete("/").status_code, 405)


class ApiTest(TestCase):
    def post(self, body, raw=False):
        data = body if raw else json.dumps(body)
        return self.client.post("/api/notes/", data=data, content_type="application/json")

    def test_create_and_list(self):
        response = self.post({"text": "via api"})
        self.assertEqual(response.status_code, 201)
        created = response.json()
        self.assertEqual(created["text"], "via api")
        listed = self.client.get("/api/notes/").json()["notes"]
        self.assertEqual([n["id"] for n in listed], [created["id"]])

    def test_newest_first(self):
        for text in ("a", "b", "c"):
            self.post({"text": text})
        texts = [n["text"] for n in self.client.get("/api/notes/").json()["notes"]]
        self.assertEqual(texts, ["c", "b", "a"])

    def test_bad_bodies(self):
        self.assertEqual(self.post("not json", raw=True).status_code, 400)
        self.assertEqual(self.post([1, 2]).status_code, 400)
        self.assertEqual(self.post({"text": ""}).status_code, 400)
        self.assertEqual(self.post({"text": 5}).status_code, 400)
        self.assertEqual(self.post({"text": "x" * 201}).status_code, 400)
        self.assertEqual(Note.objects.count(), 0)

    def test_longest_text_accepted(self):
        self.assertEqual(self.post({"text": "x" * 200}).status_code, 201)


class HealthTest(TestCase):
    @override_settings(NODE_NAME="web1", GUNICORN_PORT="8001")
    def test_healthz_reports_node_port_and_count(self):
        Note.objects.create(text="n")
        response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"status": "ok", "node": "web1", "port": "8001", "notes": 1})
        self.assertEqual(response["X-Served-By"], "web1")
        self.assertEqual(response["X-Gunicorn-Port"], "8001")

    def test_healthz_503_when_the_database_fails(self):
        with mock.patch.object(Note.objects, "count", side_effect=DatabaseError("disk I/O error")):
            response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["status"], "error")

    def test_no_headers_without_settings(self):
        response = self.client.get("/healthz")
        self.assertFalse(response.has_header("X-Served-By"))
