"""No log record, at any level, holds a lab's private key or password: a
whole launch, suspend, resume and delete with every logger at DEBUG."""

import logging

import pytest

from hastexo_lab import api
from hastexo_lab import lifecycle as lc

from .test_tasks import providers, wait_status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(lab_settings):
    """The two fake clouds as cloud-a and cloud-b, fast polling."""


class Everything(logging.Handler):
    """Keeps every record that reaches the root logger, formatted as a handler would."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def every_record():
    root = logging.getLogger()
    handler, level = Everything(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    touched = []
    for name in list(logging.root.manager.loggerDict) + ["keystoneauth", "heatclient", "urllib3", "celery"]:
        logger = logging.getLogger(name)
        touched.append((logger, logger.level))
        logger.setLevel(logging.NOTSET)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)
    for logger, old in touched:
        logger.setLevel(old)


def test_no_secret_in_any_log_record_at_debug(worker, cloud, every_record):
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    secrets = stack.secrets()
    assert api.suspend(stack)
    wait_status(stack, lc.SUSPEND_COMPLETE)
    api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.RESUME_COMPLETE)
    assert api.delete(stack)
    wait_status(stack, lc.DELETE_COMPLETE)
    assert len(every_record) > 50, "the test saw too few records to mean anything"
    # The HTTP layer did log at DEBUG: requests, and the status of each answer.
    assert any("REQ: curl" in line for line in every_record)
    assert any("RESP: [200]" in line for line in every_record)
    key_lines = [line for line in secrets["private_key"].splitlines() if len(line) > 20]
    for line in every_record:
        assert secrets["password"] not in line, line[:300]
        for fragment in key_lines:
            assert fragment not in line, line[:300]
        assert "PRIVATE KEY" not in line, line[:300]
