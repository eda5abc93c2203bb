from workbench.urls import urlpatterns as workbench_urls

# The terminal is the gateway's, mounted beside these (see hastexo_lab.demo.server).
urlpatterns = [*workbench_urls]
