"""What runs inside the real Heat's own virtualenv (.real-heat/venv), never in
the test suite's: the WSGI entry points gunicorn serves, and the set-up steps
that need the OpenStack packages (PyMySQL, keystoneclient).

    python in_venv.py databases SERVER_URL NAME...       drop and create these MariaDB databases
    python in_venv.py drop-databases SERVER_URL NAME...  drop them
    python in_venv.py list-databases SERVER_URL PREFIX   print those whose names start so
    python in_venv.py keystone SPEC.json                 Heat's service user, the labs' project and user,
                                                         the orchestration endpoints
    python in_venv.py engine-up HEAT_DB_URL              exit 0 once heat-engine has registered itself

Only the standard library and the real Heat's packages are imported here,
each where it is used: the Keystone process imports no Heat, and Heat's no
Keystone, as each configures its own global options on import.
"""

import json
import os
import sys
from urllib.parse import urlsplit


def keystone(config_file):
    """Keystone's API as a WSGI application (gunicorn's factory)."""
    # Keystone reads its configuration files from the environment, and its
    # command line from sys.argv, where gunicorn's own arguments would be.
    os.environ["OS_KEYSTONE_CONFIG_FILES"] = config_file
    sys.argv = ["keystone"]
    from keystone.server import wsgi
    return wsgi.initialize_public_application()


def heat_api(config_file):
    """Heat's API as a WSGI application (gunicorn's factory)."""
    sys.argv = ["heat-api", "--config-file", config_file]
    from heat.api.openstack import wsgi
    return wsgi.init_application()


def _mysql(url):
    import pymysql
    parts = urlsplit(url)
    return pymysql.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
                           password=parts.password or "", database=parts.path.lstrip("/") or None, autocommit=True)


def databases(server_url, names, create=True):
    with _mysql(server_url) as conn, conn.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            if create:
                cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")


def list_databases(server_url, prefix):
    with _mysql(server_url) as conn, conn.cursor() as cursor:
        cursor.execute("SHOW DATABASES")
        return [name for (name,) in cursor.fetchall() if name.startswith(prefix)]


def engine_up(heat_db_url):
    """Has a heat-engine registered itself in Heat's service table?"""
    with _mysql(heat_db_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM service WHERE topic = 'engine' AND deleted_at IS NULL")
        return cursor.fetchone()[0] > 0


def set_up_keystone(spec):
    """After ``keystone-manage bootstrap``: Heat's service user (admin in the
    service project), the project and member user the labs run as, and the
    orchestration service with its endpoints."""
    from keystoneauth1 import session
    from keystoneauth1.identity import v3
    from keystoneclient.v3 import client

    auth = v3.Password(auth_url=spec["auth_url"], username="admin", password=spec["admin_password"],
                       project_name="admin", user_domain_id="default", project_domain_id="default")
    ks = client.Client(session=session.Session(auth=auth), interface="public")
    roles = {role.name: role for role in ks.roles.list()}
    member = roles.get("member") or ks.roles.create("member")
    service = ks.projects.create("service", "default")
    heat_user = ks.users.create("heat", domain="default", password=spec["heat_password"])
    ks.roles.grant(roles["admin"], user=heat_user, project=service)
    labs = ks.projects.create(spec["lab_project"], "default")
    lab_user = ks.users.create(spec["lab_user"], domain="default", password=spec["lab_password"])
    ks.roles.grant(member, user=lab_user, project=labs)
    orchestration = ks.services.create("heat", type="orchestration")
    for interface in ("public", "internal", "admin"):
        ks.endpoints.create(orchestration, spec["heat_url"] + "/v1/%(tenant_id)s", interface=interface,
                            region="RegionOne")


def main(argv):
    command, args = argv[0], argv[1:]
    if command == "databases":
        databases(args[0], args[1:])
    elif command == "drop-databases":
        databases(args[0], args[1:], create=False)
    elif command == "list-databases":
        print("\n".join(list_databases(args[0], args[1])))
    elif command == "keystone":
        with open(args[0], encoding="utf-8") as handle:
            set_up_keystone(json.load(handle))
    elif command == "engine-up":
        return 0 if engine_up(args[0]) else 1
    else:
        return f"unknown command {command!r}"
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
