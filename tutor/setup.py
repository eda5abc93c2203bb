"""Packaging for the Tutor plugin that deploys hastexo_lab (tutor-contrib-hastexo-lab)."""

import os
import re

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read(*parts):
    with open(os.path.join(HERE, *parts), encoding="utf-8") as handle:
        return handle.read()


setup(
    name="tutor-contrib-hastexo-lab",
    version=re.search(r'^__version__ = "([^"]+)"', read("tutor_hastexo_lab", "__init__.py"), re.M).group(1),
    description="Tutor plugin for hastexo_lab: on-demand Heat labs in Open edX, with their workers, "
                "terminal gateway and (optionally) Apache Guacamole",
    long_description=read("README.md"),
    long_description_content_type="text/markdown",
    license="AGPL-3.0-or-later",
    packages=["tutor_hastexo_lab"],
    include_package_data=True,
    package_data={"tutor_hastexo_lab": ["patches/*", "templates/hastexo_lab/*", "templates/hastexo_lab/*/*/*"]},
    python_requires=">=3.9",
    # The current Tutor major release and the one before it.
    install_requires=["tutor>=21.0.0,<23.0.0"],
    entry_points={"tutor.plugin.v1": ["hastexo_lab = tutor_hastexo_lab.plugin"]},
    classifiers=[
        "License :: OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)",
        "Programming Language :: Python :: 3",
    ],
)
