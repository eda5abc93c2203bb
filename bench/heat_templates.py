"""The fake cloud against templates nobody here wrote: every HOT template of
a checkout of OpenStack's own examples (openstack/heat-templates, its hot/
folder), judged by `hastexo-cloudsim --check` (no server, no machines).

    git clone https://opendev.org/openstack/heat-templates
    .venv/bin/python bench/heat_templates.py heat-templates/hot [--list]

Reports how many it accepts (and of those, how many it also builds, where
every parameter has a default), and sorts the refusals: types of services a
lab cloud does not offer (refused by Heat too where the service is missing),
templates that need files or environments from outside the folder, and the
rest, which are where the fake cloud says no and a full Heat would say yes.
"""

import argparse
import collections
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "cloudsim")]


def judge(path):
    import yaml
    from hastexo_cloudsim import check, schemas
    from hastexo_cloudsim.registry import Registry
    with open(path, encoding="utf-8") as handle:
        try:
            tree = yaml.safe_load(handle)
        except yaml.YAMLError:
            tree = None
    if not isinstance(tree, dict) or "heat_template_version" not in tree:
        return "an environment or other file, not a template", ""
    ok, message = check.check(path)
    if ok:
        return ("accepted and built" if "builds" in message else "accepted (parameters without values)"), ""
    missing = re.search(r"The Resource Type \((.+?)\) could not be found", message)
    service = missing and schemas.NOT_OFFERED.get(Registry().target(missing.group(1)))
    if service:
        return f"refused: needs {service}, which a lab cloud does not offer", message
    if "No content found" in message or "Heat::InstallConfigAgent" in message:
        return "refused: needs files or an environment from outside the folder", message
    return "refused: other", message


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--list", action="store_true", help="every template with its outcome")
    args = parser.parse_args()
    outcomes = collections.Counter()
    others = []
    for base, _, names in sorted(os.walk(args.folder)):
        for name in sorted(names):
            if not name.endswith((".yaml", ".yml")):
                continue
            path = os.path.join(base, name)
            outcome, message = judge(path)
            outcomes[outcome] += 1
            if outcome == "refused: other":
                others.append((os.path.relpath(path, args.folder), message))
            if args.list:
                print(f"{os.path.relpath(path, args.folder)}: {outcome} {message}")
    skipped = "an environment or other file, not a template"
    templates = sum(n for o, n in outcomes.items() if o != skipped)
    print(f"{templates} templates ({outcomes[skipped]} environments and other files left out)")
    for outcome, count in sorted(outcomes.items(), key=lambda item: -item[1]):
        if outcome != skipped:
            print(f"  {count:4}  {outcome}")
    for path, message in others:
        print(f"        {path}: {message}")


if __name__ == "__main__":
    main()
