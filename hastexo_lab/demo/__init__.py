"""The demo: the xblock-sdk workbench with the lab block, a Celery worker and
two fake clouds, all in one process on embedded defaults (SQLite, an in-memory
broker): nothing else to install or run."""
