"""Are the servers of a services pass reachable?

    python -m tests.services postgresql redis   exit 0 if all answer, 1 (and why) if not
    python -m tests.services mysql redis        (MySQL also needs its driver, mysqlclient)

With no names, PostgreSQL and Redis.
"""

import importlib.util
import os
import socket
import sys

SERVICES = {
    "postgresql": ("PostgreSQL", os.environ.get("PGHOST", "127.0.0.1"), int(os.environ.get("PGPORT", "5432"))),
    "mysql": ("MySQL", os.environ.get("MYSQL_HOST", "127.0.0.1"), int(os.environ.get("MYSQL_PORT", "3306"))),
    "redis": ("Redis", "127.0.0.1", 6379),
}
DRIVERS = {"postgresql": "psycopg", "mysql": "MySQLdb"}


def missing(names=("postgresql", "redis")):
    down = []
    for name in names:
        label, host, port = SERVICES[name]
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            down.append(f"{label} at {host}:{port} ({exc.strerror or exc})")
        driver = DRIVERS.get(name)
        if driver and importlib.util.find_spec(driver) is None:
            down.append(f"{label}'s driver ({driver}) is not installed")
    return down


if __name__ == "__main__":
    unknown = [name for name in sys.argv[1:] if name not in SERVICES]
    if unknown:
        sys.exit(f"unknown services: {', '.join(unknown)} (known: {', '.join(SERVICES)})")
    down = missing(sys.argv[1:] or ("postgresql", "redis"))
    for item in down:
        print(f"not reachable: {item}", file=sys.stderr)
    sys.exit(1 if down else 0)
