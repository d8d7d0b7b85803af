"""Tests of the to-do app; they run on sqlite:
    DB_ENGINE=sqlite python3 manage.py test
"""
import json
from unittest import mock

from django.contrib.auth import get_user_model
from django.db import DatabaseError, OperationalError
from django.test import TestCase, override_settings
from django.urls import reverse

from .models import Item, TodoList


class ModelTests(TestCase):
    def test_items_belong_to_a_list_and_go_with_it(self):
        todo_list = TodoList.objects.create(name="groceries")
        todo_list.items.create(title="milk")
        todo_list.items.create(title="bread", done=True)
        self.assertEqual(str(todo_list), "groceries")
        self.assertEqual([i.title for i in todo_list.items.all()], ["milk", "bread"])
        todo_list.delete()
        self.assertEqual(Item.objects.count(), 0)

    def test_as_dict(self):
        todo_list = TodoList.objects.create(name="chores")
        item = todo_list.items.create(title="dishes")
        data = todo_list.as_dict()
        self.assertEqual(data["name"], "chores")
        self.assertEqual(data["items"][0]["id"], item.id)
        self.assertFalse(data["items"][0]["done"])


class HealthTests(TestCase):
    def test_ok_when_the_database_answers(self):
        response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "ok")

    def test_503_when_the_database_fails(self):
        with mock.patch.object(TodoList.objects, "exists", side_effect=DatabaseError("gone")):
            response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["status"], "error")
        self.assertIn("gone", response.json()["error"])

    def test_not_cached(self):
        response = self.client.get("/healthz")
        self.assertIn("no-cache", response["Cache-Control"])

    @override_settings(NODE_NAME="node9")
    def test_served_by_header(self):
        response = self.client.get("/healthz")
        self.assertEqual(response["X-Served-By"], "node9")
        self.assertEqual(response.json()["node"], "node9")


class DatabaseDownTests(TestCase):
    """A view failing on its database answers 503 (which HAProxy retries on
    the other node for a GET), not Django's 500."""

    def test_api_answers_503_with_retry_after(self):
        with mock.patch.object(TodoList.objects, "prefetch_related", side_effect=OperationalError("gone")):
            response = self.client.get("/api/lists/")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Retry-After"], "5")
        self.assertIn("database", response.json()["error"])

    def test_page_answers_503(self):
        with mock.patch.object(TodoList.objects, "prefetch_related", side_effect=OperationalError("gone")):
            response = self.client.get("/")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Content-Type"], "text/plain")

    def test_a_write_answers_503_too(self):
        with mock.patch.object(TodoList.objects, "create", side_effect=OperationalError("gone")):
            response = self.client.post("/api/lists/", json.dumps({"name": "x"}), content_type="application/json")
        self.assertEqual(response.status_code, 503)

    def test_other_errors_stay_500(self):
        client = self.client_class(raise_request_exception=False)
        with mock.patch.object(TodoList.objects, "prefetch_related", side_effect=RuntimeError("bug")):
            response = client.get("/api/lists/")
        self.assertEqual(response.status_code, 500)


class ApiTests(TestCase):
    def post(self, url, data):
        return self.client.post(url, json.dumps(data), content_type="application/json")

    def patch(self, url, data):
        return self.client.patch(url, json.dumps(data), content_type="application/json")

    def test_create_and_list(self):
        response = self.post("/api/lists/", {"name": "work"})
        self.assertEqual(response.status_code, 201)
        list_id = response.json()["id"]
        response = self.post(f"/api/lists/{list_id}/items/", {"title": "report"})
        self.assertEqual(response.status_code, 201)
        self.assertEqual(response.json()["list"], list_id)

        lists = self.client.get("/api/lists/").json()["lists"]
        self.assertEqual(len(lists), 1)
        self.assertEqual(lists[0]["name"], "work")
        self.assertEqual([i["title"] for i in lists[0]["items"]], ["report"])

    def test_filter_by_name(self):
        TodoList.objects.create(name="a")
        TodoList.objects.create(name="b")
        lists = self.client.get("/api/lists/", {"name": "b"}).json()["lists"]
        self.assertEqual([entry["name"] for entry in lists], ["b"])
        self.assertEqual(self.client.get("/api/lists/", {"name": "zzz"}).json()["lists"], [])

    def test_update_and_delete_item(self):
        item = TodoList.objects.create(name="x").items.create(title="old")
        response = self.patch(f"/api/items/{item.id}/", {"done": True, "title": "new"})
        self.assertEqual(response.status_code, 200)
        item.refresh_from_db()
        self.assertTrue(item.done)
        self.assertEqual(item.title, "new")
        self.assertEqual(self.client.delete(f"/api/items/{item.id}/").status_code, 204)
        self.assertFalse(Item.objects.exists())

    def test_delete_list(self):
        todo_list = TodoList.objects.create(name="x")
        self.assertEqual(self.client.delete(f"/api/lists/{todo_list.id}/").status_code, 204)
        self.assertEqual(self.client.get(f"/api/lists/{todo_list.id}/").status_code, 404)

    def test_bad_input_is_a_400(self):
        for body in ({}, {"name": ""}, {"name": "   "}, {"name": 3}, {"name": "x" * 201}):
            with self.subTest(body=body):
                response = self.post("/api/lists/", body)
                self.assertEqual(response.status_code, 400)
                self.assertIn("name", response.json()["error"])
        response = self.client.post("/api/lists/", "not json", content_type="application/json")
        self.assertEqual(response.status_code, 400)
        response = self.client.post("/api/lists/", "[1]", content_type="application/json")
        self.assertEqual(response.status_code, 400)
        item = TodoList.objects.create(name="x").items.create(title="t")
        self.assertEqual(self.patch(f"/api/items/{item.id}/", {"done": "yes"}).status_code, 400)

    def test_unknown_ids_are_404(self):
        self.assertEqual(self.client.get("/api/lists/999/").status_code, 404)
        self.assertEqual(self.post("/api/lists/999/items/", {"title": "t"}).status_code, 404)
        self.assertEqual(self.client.get("/api/items/999/").status_code, 404)

    def test_wrong_method_is_a_405(self):
        self.assertEqual(self.client.put("/api/lists/").status_code, 405)


class PageTests(TestCase):
    def test_index_lists_and_creates(self):
        TodoList.objects.create(name="garden")
        response = self.client.get("/")
        self.assertContains(response, "garden")
        response = self.client.post("/", {"name": "house"})
        todo_list = TodoList.objects.get(name="house")
        self.assertRedirects(response, reverse("todo:list", args=[todo_list.id]))

    def test_empty_index(self):
        self.assertContains(self.client.get("/"), "No lists yet.")

    def test_add_and_toggle_item(self):
        todo_list = TodoList.objects.create(name="garden")
        self.client.post(f"/lists/{todo_list.id}/", {"title": "weed"})
        item = todo_list.items.get()
        self.assertContains(self.client.get(f"/lists/{todo_list.id}/"), "weed")
        self.client.post(f"/items/{item.id}/toggle/")
        item.refresh_from_db()
        self.assertTrue(item.done)

    def test_html_forms_need_csrf(self):
        client = self.client_class(enforce_csrf_checks=True)
        self.assertEqual(client.post("/", {"name": "x"}).status_code, 403)


class AdminTests(TestCase):
    def test_admin_lists_todo_models(self):
        admin = get_user_model().objects.create_superuser("admin", "a@example.com", "pw-123456")
        self.client.force_login(admin)
        response = self.client.get("/admin/todo/todolist/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.client.get("/admin/todo/item/").status_code, 200)
