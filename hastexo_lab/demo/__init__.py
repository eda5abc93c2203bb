"""The demo: the xblock-sdk workbench with the lab block, a Celery worker and
two fake clouds, all in one process on embedded defaults (SQLite, a broker in
folders of its data folder): nothing else to install or run. Operators'
commands run beside it: ``python -m hastexo_lab.demo.manage hastexo_lab list``."""
