"""The fake cloud against templates nobody here wrote: every HOT template of
a checkout of OpenStack's own examples (openstack/heat-templates, its hot/
folder), judged by `hastexo-cloudsim --check` (no server, no machines).

    git clone https://opendev.org/openstack/heat-templates
    .venv/bin/python bench/heat_templates.py heat-templates/hot [--list]

Reports how many it accepts (and of those, how many it also builds, where
every parameter has a default, or with stand-in values that meet each
parameter's constraints where some have none), and sorts the refusals: types of services a
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
    if ok and "builds" in message:
        return "accepted and built", ""
    if ok:
        # Parameters without values: built again with stand-ins that meet
        # their constraints, as an author's values would.
        ok, message = check.check(path, parameters=stand_ins(path))
        if ok and "builds" in message:
            return "accepted, and built with stand-in parameter values", ""
        return "accepted, not built with stand-ins", message
    missing = re.search(r"The Resource Type \((.+?)\) could not be found", message)
    service = missing and schemas.NOT_OFFERED.get(Registry().target(missing.group(1)))
    if service:
        return f"refused: needs {service}, which a lab cloud does not offer", message
    if "No content found" in message or "Heat::InstallConfigAgent" in message:
        return "refused: needs files or an environment from outside the folder", message
    return "refused: other", message


# Stand-in values a string parameter may take, tried in turn against its pattern.
_CANDIDATES = ("a", "abc", "a1", "1", "admin", "a-1", "10.0.0.0/24", "10.0.0.1", "Abc123def", "Abc-123-def", "x" * 8)
# Parameters whose names say what they hold (what an author would give).
_BY_NAME = {"cidr": "10.0.0.0/24", "ip": "10.0.0.1", "gateway": "10.0.0.1", "dns": "8.8.8.8",
            "pool_start": "10.0.0.10", "pool_end": "10.0.0.20", "email": "admin@example.org"}


def stand_ins(path):
    """A value for each parameter without one, within its constraints, from
    what Heat's template-validate says of them."""
    from hastexo_cloudsim import check
    template, environment, files = check.collect(path)
    described = check.offline_engine().validate({"template": template, "environment": environment,
                                                 "files": files})
    values = {}
    for name, decl in (described.get("Parameters") or {}).items():
        if "Default" in decl:
            continue
        kind = decl.get("Type")
        if decl.get("AllowedValues"):
            values[name] = str(decl["AllowedValues"][0])
        elif kind == "Number":
            low, high = decl.get("MinValue"), decl.get("MaxValue")
            values[name] = str(low if low is not None else min(1, high) if high is not None else 1)
        elif kind == "CommaDelimitedList":
            values[name] = "a"
        elif kind == "Json":
            values[name] = "{}"
        elif kind == "Boolean":
            values[name] = "false"
        else:
            size = max(int(decl.get("MinLength") or 1), 1)
            pattern = decl.get("AllowedPattern")
            hinted = [v for k, v in _BY_NAME.items() if k in name.lower()]
            fits = hinted + [c * size if len(c) == 1 else c for c in _CANDIDATES]
            fits = [c for c in fits if (not pattern or re.fullmatch(pattern, c))
                    and size <= len(c) <= int(decl.get("MaxLength") or 10 ** 6)]
            values[name] = fits[0] if fits else "a" * size
    return values


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
