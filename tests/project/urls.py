"""The workbench's URLs, plus what the plugin adds to the LMS (as its url_config does)."""

from django.urls import include, path, re_path
from workbench.urls import urlpatterns as workbench_urls

urlpatterns = [
    re_path(r"^hastexo-lab/", include("hastexo_lab.urls", namespace="hastexo_lab")),
    path("", include(workbench_urls)),
]
