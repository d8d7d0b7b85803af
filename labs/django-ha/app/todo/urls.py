from django.urls import path

from . import views

app_name = "todo"

urlpatterns = [
    path("", views.index, name="index"),
    path("lists/<int:list_id>/", views.list_detail, name="list"),
    path("items/<int:item_id>/toggle/", views.item_toggle, name="item-toggle"),
    path("healthz", views.healthz, name="healthz"),
    path("api/lists/", views.api_lists, name="api-lists"),
    path("api/lists/<int:list_id>/", views.api_list, name="api-list"),
    path("api/lists/<int:list_id>/items/", views.api_items, name="api-items"),
    path("api/items/<int:item_id>/", views.api_item, name="api-item"),
]
