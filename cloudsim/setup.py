"""Packaging for the fake OpenStack cloud (hastexo-lab-cloudsim)."""

import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read(*parts):
    with open(os.path.join(HERE, *parts), encoding="utf-8") as handle:
        return handle.read()


setup(
    name="hastexo-lab-cloudsim",
    version="0.1.0",
    description="A fake OpenStack cloud (Keystone v3 + Heat v1) for developing and testing Heat labs",
    long_description=read("README.md"),
    long_description_content_type="text/markdown",
    license="AGPL-3.0-or-later",
    packages=find_packages(include=["hastexo_cloudsim", "hastexo_cloudsim.*"]),
    python_requires=">=3.11",
    # yaql evaluates HOT's yaql function as Heat does; regex bounds the time a
    # parameter's allowed_pattern may take.
    install_requires=["PyYAML", "cryptography", "asyncssh", "yaql>=3.0", "regex>=2023.0"],
    entry_points={"console_scripts": ["hastexo-cloudsim = hastexo_cloudsim.cli:main"]},
    classifiers=[
        "License :: OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Topic :: Software Development :: Testing",
    ],
)
