"""To-do lists and their items."""
from django.db import models


class TodoList(models.Model):
    name = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return self.name

    def as_dict(self, items=True):
        data = {"id": self.id, "name": self.name, "created": self.created.isoformat()}
        if items:
            data["items"] = [item.as_dict() for item in self.items.all()]
        return data


class Item(models.Model):
    todo_list = models.ForeignKey(TodoList, on_delete=models.CASCADE, related_name="items")
    title = models.CharField(max_length=200)
    done = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["done", "created", "id"]

    def __str__(self):
        return self.title

    def as_dict(self):
        return {
            "id": self.id,
            "list": self.todo_list_id,
            "title": self.title,
            "done": self.done,
            "created": self.created.isoformat(),
        }
