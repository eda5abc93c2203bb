"""The fake cloud's own tests: its fixtures, and the repository's sample template."""

import os

import pytest

pytest_plugins = ["hastexo_cloudsim.pytest_plugin"]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE_TEMPLATE = os.path.join(ROOT, "samples", "hot", "lab.yaml")


def sample_template():
    with open(SAMPLE_TEMPLATE, encoding="utf-8") as handle:
        return handle.read()


@pytest.fixture(scope="session")
def template():
    return sample_template()
