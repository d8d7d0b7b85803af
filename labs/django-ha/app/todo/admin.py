from django.contrib import admin

from .models import Item, TodoList


class ItemInline(admin.TabularInline):
    model = Item
    extra = 1


@admin.register(TodoList)
class TodoListAdmin(admin.ModelAdmin):
    list_display = ("name", "created")
    search_fields = ("name",)
    inlines = [ItemInline]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("title", "todo_list", "done", "created")
    list_filter = ("done",)
    search_fields = ("title",)
