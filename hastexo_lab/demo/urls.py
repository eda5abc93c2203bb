from django.urls import include, re_path
from workbench.urls import urlpatterns as workbench_urls

# What the plugin adds to the LMS (its url_config: the metrics), and the
# workbench. The terminal is the gateway's, mounted beside these (see
# hastexo_lab.demo.server).
urlpatterns = [
    re_path(r"^hastexo-lab/", include("hastexo_lab.urls", namespace="hastexo_lab")),
    *workbench_urls,
]
