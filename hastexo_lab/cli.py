"""The ``hastexo-lab`` command."""

import argparse
import logging
import sys


def _demo_parser(sub):
    p = sub.add_parser("demo", help="run the lab block in the workbench against fake clouds",
                       description="Run the xblock-sdk workbench with the lab block, a Celery worker and two "
                                   "fake clouds in one process (SQLite, a broker in folders of its data folder: "
                                   "no server).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: %(default)s); one that is not loopback needs --expose")
    p.add_argument("--expose", action="store_true",
                   help="listen on a --host that is not loopback: whoever reaches it can open any learner's lab "
                        "there, and each lab is a shell on this computer")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="another name browsers reach the demo by (repeatable; --host, 127.0.0.1 and localhost "
                        "always are)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    p.add_argument("--data-dir", default="var/demo", help="where the demo keeps its database")
    p.add_argument("--create-time", type=float, default=5.0, metavar="SECONDS",
                   help="how long a stack create takes (default: %(default)s)")
    p.set_defaults(func=run_demo)


def run_demo(args):
    from .demo.server import is_loopback, run
    if not is_loopback(args.host) and not args.expose:
        print(f"hastexo-lab demo: --host {args.host} is not a loopback address: whoever reaches it could open "
              "any learner's lab, a shell on this computer. Add --expose if that is what you want.",
              file=sys.stderr)
        return 2
    try:
        return run(host=args.host, port=args.port, data_dir=args.data_dir, create_time=args.create_time,
                   allowed_hosts=args.allowed_host)
    except OSError as exc:
        print(f"hastexo-lab demo: cannot listen on {args.host}:{args.port}: {exc.strerror} "
              "(choose another with --port)", file=sys.stderr)
        return 2


def _cloudsim_parser(sub):
    p = sub.add_parser("cloudsim", help="run the fake cloud, or judge a template (--check TEMPLATE)",
                       description="The fake OpenStack cloud (the hastexo-lab-cloudsim package): "
                                   "`hastexo-lab cloudsim --check TEMPLATE -P run=COURSE_RUN [-e ENV]` validates a lab "
                                   "template "
                                   "the way it (and Heat) would; without --check it serves. "
                                   "`hastexo-lab cloudsim --help` lists its options.", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=run_cloudsim)


def run_cloudsim(args):
    try:
        from hastexo_cloudsim.cli import main as cloudsim_main
    except ImportError:
        print("hastexo-lab cloudsim: the fake cloud is not installed (pip install hastexo-lab-cloudsim, "
              "or pip install -e cloudsim in a checkout)", file=sys.stderr)
        return 2
    return cloudsim_main(args.args)


def _terminal_parser(sub):
    p = sub.add_parser("terminal", help="run the built-in terminal gateway (ASGI, on uvicorn)",
                       description="Serve the terminal page and its WebSocket, bridged to SSH on the learners' "
                                   "labs. Runs with the LMS's Django settings (DJANGO_SETTINGS_MODULE), "
                                   "behind the LMS's web proxy at the path of the terminal_url setting.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8090, help="port to listen on (default: %(default)s)")
    p.add_argument("--root", default=None, help="the path it is served under (default: terminal_url's path)")
    p.set_defaults(func=run_terminal)


def run_terminal(args):
    import os
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        print("hastexo-lab terminal: set DJANGO_SETTINGS_MODULE to the LMS's settings module", file=sys.stderr)
        return 2
    import django
    django.setup()
    from django.core.exceptions import ImproperlyConfigured

    from . import conf
    from .terminal.server import run
    try:
        conf.get_settings()
    except ImproperlyConfigured as exc:
        print(f"hastexo-lab terminal: {exc}", file=sys.stderr)
        return 2
    try:
        return run(args.host, args.port, args.root)
    except OSError as exc:
        print(f"hastexo-lab terminal: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hastexo-lab", description="hastexo_lab command line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    _demo_parser(sub)
    _cloudsim_parser(sub)
    _terminal_parser(sub)
    args, extra = parser.parse_known_args(argv)
    if args.command == "cloudsim":
        args.args = [*extra, *args.args]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
