"""Packaging for hastexo_lab."""

import os
import re

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def read(*parts):
    with open(os.path.join(HERE, *parts), encoding="utf-8") as handle:
        return handle.read()


def version():
    return re.search(r'^__version__ = "([^"]+)"', read("hastexo_lab", "__init__.py"), re.M).group(1)


def requirements(name):
    """Unpinned requirement lines from requirements/<name>.in (no -r/-c lines)."""
    lines = []
    for line in read("requirements", name).splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


class BuildWithStatic(build_py):
    """A wheel without the terminal's browser files would serve a blank
    terminal: refuse to build one."""

    def run(self):
        # An editable install (a checkout: `make static` fills it in place) may go first.
        if not getattr(self, "editable_mode", False) and not os.path.isfile(os.path.join(HERE, "hastexo_lab", "static", "vendor", "xterm", "xterm.js")):
            raise SystemExit("hastexo_lab/static/vendor/xterm is missing: run `make static` first")
        super().run()


setup(
    name="hastexo-lab",
    cmdclass={"build_py": BuildWithStatic},
    version=version(),
    description="On-demand per-learner OpenStack Heat labs for Open edX, with suspend on idle",
    long_description=read("README.md"),
    long_description_content_type="text/markdown",
    url="https://github.com/hastexo/hastexo-lab",
    license="AGPL-3.0-or-later",
    packages=find_packages(include=["hastexo_lab", "hastexo_lab.*"]),
    include_package_data=True,
    python_requires=">=3.11",
    install_requires=requirements("base.in"),
    # The demo runs against the fake cloud, a package of its own in cloudsim/
    # (never installed into an LMS): pip install -e cloudsim -e '.[demo]'.
    extras_require={"demo": ["hastexo-lab-cloudsim", "xblock-sdk"]},
    entry_points={
        "console_scripts": ["hastexo-lab = hastexo_lab.cli:main"],
        # Also under the hastexo XBlock's tag, so that its courses import whole
        # (install one of the two blocks, not both).
        "xblock.v1": ["hastexo_lab = hastexo_lab.block:LabBlock", "hastexo = hastexo_lab.block:LabBlock"],
        # Open edX installs the Django app into the LMS and Studio by these.
        "lms.djangoapp": ["hastexo_lab = hastexo_lab.apps:HastexoLabConfig"],
        "cms.djangoapp": ["hastexo_lab = hastexo_lab.apps:HastexoLabConfig"],
    },
    classifiers=[
        "Framework :: Django",
        "License :: OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
    ],
)
