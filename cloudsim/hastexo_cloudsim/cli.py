"""The ``hastexo-cloudsim`` command (also ``python -m hastexo_cloudsim``)."""

import argparse
import json
import logging
import signal
import sys
import threading

from . import CloudConfig, CloudSim, parse_spec


def _parser():
    p = argparse.ArgumentParser(prog="hastexo-cloudsim",
                                description="Run a fake OpenStack cloud (Keystone v3 + Heat v1) in the foreground.")
    d = CloudConfig()
    p.add_argument("--host", default=d.host, help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=d.port, help="port to listen on, 0 for any (default: %(default)s)")
    p.add_argument("--region", default=d.region, help="region name in the catalog (default: %(default)s)")
    p.add_argument("--username", default=d.username, help="user name (default: %(default)s)")
    p.add_argument("--password", default=None, help="password (default: a new random one, printed at start)")
    p.add_argument("--project", default=d.project_name, help="project name (default: %(default)s)")
    p.add_argument("--token-ttl", type=float, default=d.token_ttl, metavar="SECONDS",
                   help="token lifetime (default: %(default)s)")
    for op in ("create", "suspend", "resume", "delete"):
        p.add_argument(f"--{op}-time", type=float, default=d.durations[op], metavar="SECONDS",
                       help=f"how long a stack {op} takes (default: %(default)s)")
    p.add_argument("--fault", action="append", default=[], metavar="OP:EFFECT[:k=v,...]",
                   help="inject a fault, e.g. create:fail:count=2, show:error:fraction=0.1,status=503, "
                        "suspend:hang, any:slow:delay=2, list:drop (repeatable)")
    p.add_argument("--no-machines", action="store_true",
                   help="no SSH machines behind the servers (for pure API load tests)")
    p.add_argument("--ssh-port", type=int, default=d.ssh_port,
                   help="the machines' SSH port (default: 22 where this process may bind it, "
                        f"else {d.fallback_ssh_port})")
    p.add_argument("--boot-time", type=float, default=d.boot_time, metavar="SECONDS",
                   help="from CREATE_COMPLETE until a machine takes logins (default: %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="seed for fractional faults")
    p.add_argument("--verbose", action="store_true", help="log every request")
    check = p.add_argument_group("judging a template instead of serving (no server is started)")
    check.add_argument("--check", metavar="TEMPLATE",
                       help="judge TEMPLATE as the fake cloud (and Heat) would judge a create of it with these "
                            "environments and parameter values; exit 1 if the create would fail")
    check.add_argument("-e", "--environment", action="append", default=[], metavar="ENV",
                       help="an environment file for --check (repeatable)")
    check.add_argument("-P", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                       help="a parameter value for --check, as a create is given it (repeatable); a parameter "
                            "without a value or a default fails the check, as it fails a create")
    return p


def run_cloudsim(args):
    try:
        config = CloudConfig(
            host=args.host, port=args.port, region=args.region, username=args.username,
            **({"password": args.password} if args.password is not None else {}),
            project_name=args.project, token_ttl=args.token_ttl,
            seed=args.seed, machines=not args.no_machines, ssh_port=args.ssh_port, boot_time=args.boot_time,
            durations={op: getattr(args, f"{op}_time") for op in ("create", "suspend", "resume", "delete")},
        )
        faults = [parse_spec(spec) for spec in args.fault]
    except ValueError as exc:
        print(f"hastexo-cloudsim: {exc}", file=sys.stderr)
        return 2
    try:
        cloud = CloudSim(config)
    except OSError as exc:
        print(f"hastexo-cloudsim: cannot listen on {args.host}:{args.port}: {exc.strerror} "
              "(choose another with --host/--port)", file=sys.stderr)
        return 2
    for fault in faults:
        cloud.faults.install(fault)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    cloud.start()
    print(f"Fake OpenStack cloud (Keystone v3 + Heat v1) listening on {cloud.base_url}")
    print("Credentials, as environment variables for the openstack and heat clients:")
    for key, value in _environment(cloud).items():
        print(f"  export {key}={value}")
    print("As a hastexo_lab provider (XBLOCK_SETTINGS['hastexo_lab']['providers']):")
    print("  " + json.dumps({"default": cloud.provider_config()}))
    print(f"Admin API: {cloud.base_url}/admin/stats, /admin/faults, /admin/tokens/revoke, /admin/durations")
    if faults:
        print("Faults: " + "; ".join(args.fault))
    print("Press Ctrl+C to stop.", flush=True)
    while not stop.wait(0.5):
        pass
    cloud.stop()
    print("Stopped.", flush=True)
    return 0


def _environment(cloud):
    cfg = cloud.config
    return {
        "OS_AUTH_URL": cloud.auth_url,
        "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": cfg.username,
        "OS_PASSWORD": cfg.password,
        "OS_USER_DOMAIN_NAME": cfg.domain_name,
        "OS_PROJECT_NAME": cfg.project_name,
        "OS_PROJECT_DOMAIN_NAME": cfg.domain_name,
        "OS_REGION_NAME": cfg.region,
    }


def main(argv=None):
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.check:
        from .check import main as run_check
        return run_check(args)
    return run_cloudsim(args)


if __name__ == "__main__":
    sys.exit(main())
