"""Django's management commands against a running demo, as ``manage.py``
runs them against an LMS:

    python -m hastexo_lab.demo.manage [--data-dir var/demo] hastexo_lab list
    python -m hastexo_lab.demo.manage hastexo_lab suspend hxl-...

The command reads the demo's database and the block's settings in its data
folder, and sends its tasks through the demo's broker (folders there too), so
that the demo's worker does them at once.
"""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hastexo_lab.demo.manage",
                                     description="Run a Django management command against a running demo.")
    parser.add_argument("--data-dir", default="var/demo", help="the demo's --data-dir (default: %(default)s)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments")
    args = parser.parse_args(argv)
    data_dir = os.path.abspath(args.data_dir)
    if not os.path.isfile(os.path.join(data_dir, "settings.json")):
        print(f"{parser.prog}: no demo has run on {data_dir}: start one with `hastexo-lab demo"
              f"{'' if args.data_dir == 'var/demo' else ' --data-dir ' + args.data_dir}`", file=sys.stderr)
        return 2
    os.environ["DJANGO_SETTINGS_MODULE"] = "hastexo_lab.demo.settings"
    os.environ["HASTEXO_LAB_DEMO_DIR"] = data_dir

    import django
    django.setup()
    from django.core.management import execute_from_command_line

    from ..celery import app

    # The tasks go where the demo's worker reads: this app's broker.
    app.set_current()
    app.set_default()
    execute_from_command_line([parser.prog, *args.command])
    return 0


if __name__ == "__main__":
    sys.exit(main())
