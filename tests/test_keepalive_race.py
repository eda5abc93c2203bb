"""No keepalive is lost: a keepalive aimed at the moment a suspend starts
either keeps the lab, or has it resumed right after the suspend; and the
learner is told which. A real worker finishes each round."""

import os

import pytest

from . import keepalive_race
from .helpers import sample_template

pytestmark = pytest.mark.django_db(transaction=True)
# A database server (PostgreSQL, MySQL) takes the full harness; SQLite serializes writers.
ON_SERVER_DB = os.environ.get("HASTEXO_LAB_TEST_DB") in ("postgresql", "mysql")


def test_no_keepalive_is_lost_to_a_starting_suspend(lab_settings, worker, cloud):
    cloud.config.durations.update(suspend=0.02, resume=0.02)
    stack = keepalive_race.make_lab("cloud-a", sample_template())
    results = keepalive_race.run(stack, cloud, rounds=200 if ON_SERVER_DB else 40)
    print(results.line())
    assert results.lost == 0, results.line()
    assert results.misinformed == 0, results.line()
    # The harness did aim at the window: some rounds suspended, some kept.
    assert results.outcomes["kept"] and results.outcomes["resumed"] + results.outcomes["after"], results.line()
