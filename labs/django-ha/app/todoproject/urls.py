"""URLs: the to-do app at /, the API under /api/, the admin, /healthz."""
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("todo.urls")),
]

if settings.SERVE_STATIC:
    prefix = settings.STATIC_URL.lstrip("/")
    urlpatterns += [
        re_path(rf"^{prefix}(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
    ]
