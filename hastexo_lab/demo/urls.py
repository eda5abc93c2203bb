from django.urls import path
from workbench.urls import urlpatterns as workbench_urls

from .views import terminal

urlpatterns = [path("terminal/", terminal, name="demo_terminal"), *workbench_urls]
