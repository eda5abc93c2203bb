"""The README's promises about the demo hold: its two commands come first,
and every demo option and address it names exists."""

import re
import subprocess
import sys

from .helpers import ROOT


def readme():
    with open(f"{ROOT}/README.md", encoding="utf-8") as handle:
        return handle.read()


def test_the_readme_starts_with_the_two_commands():
    first_block = readme().split("```", 2)[1]
    assert first_block.split() == ["make", "demo", "make", "test"]


def test_every_demo_option_the_readme_names_exists():
    help_text = subprocess.run([sys.executable, "-m", "hastexo_lab", "demo", "--help"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout
    demo_part = readme().split("## What is here")[0]
    options = set(re.findall(r"--[a-z][a-z-]+", demo_part))
    assert {"--port", "--host", "--data-dir"} <= options
    for option in options:
        assert option in help_text, option


def test_the_studio_address_the_readme_names_is_served(client, workbench, workbench_settings):
    path = re.search(r"`(/scenario/\S+/studio_view/\?student=\w+)`", readme()).group(1)
    page = client.get(path)
    assert page.status_code == 200 and "Stack user name" in page.content.decode()
