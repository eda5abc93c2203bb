"""URLs the LMS serves for hastexo_lab, under the prefix the plugin registers
(``/hastexo-lab/``; see apps.py)."""

from django.urls import path

from . import views

app_name = "hastexo_lab"
urlpatterns = [
    path("metrics", views.metrics_view, name="metrics"),
]
