"""Are the PostgreSQL and Redis servers of the services pass reachable?

    python -m tests.services      exit 0 if both answer, 1 (and why) if not
"""

import os
import socket
import sys

SERVICES = {
    "PostgreSQL": (os.environ.get("PGHOST", "127.0.0.1"), int(os.environ.get("PGPORT", "5432"))),
    "Redis": ("127.0.0.1", 6379),
}


def missing():
    down = []
    for name, address in SERVICES.items():
        try:
            socket.create_connection(address, timeout=2).close()
        except OSError as exc:
            down.append(f"{name} at {address[0]}:{address[1]} ({exc.strerror or exc})")
    return down


if __name__ == "__main__":
    down = missing()
    for item in down:
        print(f"not reachable: {item}", file=sys.stderr)
    sys.exit(1 if down else 0)
