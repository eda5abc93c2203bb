import pytest

from hastexo_lab.providers import make_provider

from .helpers import sample_template

# The fake cloud's fixtures: cloud, cloud_b, clock, clocked_cloud, heat.
pytest_plugins = ["hastexo_cloudsim.pytest_plugin"]


@pytest.fixture
def provider(cloud):
    return make_provider("test", cloud.provider_config())


@pytest.fixture(scope="session")
def template():
    return sample_template()


# Fast polling; a lab is ready once its machine (the fake cloud's SSH server) accepts connections.
FAST_LAB = {"poll_initial": 0.05, "poll_max": 0.2, "task_retries": 2, "delete_attempts": 2}


@pytest.fixture
def lab_settings(settings, cloud, cloud_b):
    """XBLOCK_SETTINGS with two providers on the fake clouds and fast polling."""
    settings.XBLOCK_SETTINGS = {"hastexo_lab": dict(
        FAST_LAB, providers={"cloud-a": cloud.provider_config(), "cloud-b": cloud_b.provider_config()})}
    return settings


@pytest.fixture(scope="session", autouse=True)
def celery_app():
    """The operators' Celery app, current for every test, so that tasks sent
    without a worker go to the test broker, never to a default one."""
    from hastexo_lab.celery import app
    app.set_current()
    app.set_default()
    return app


@pytest.fixture
def worker(celery_app, transactional_db):
    """A real Celery worker (threads) consuming the lab queue and the checks'
    queue, for one test."""
    from celery.contrib.testing.tasks import ping
    from celery.contrib.testing.worker import start_worker
    from celery.worker import state as worker_state

    queues = ["hastexo_lab", "hastexo_lab_checks"]

    def purge():
        with celery_app.connection_for_write() as conn:
            for queue in queues:
                conn.default_channel.queue_declare(queue, durable=True, auto_delete=False)
                conn.default_channel.queue_purge(queue)

    purge()
    with start_worker(celery_app, pool="threads", concurrency=4, perform_ping_check=False,
                      queues=queues, shutdown_timeout=30) as running:
        yield running
        # The worker checks for shutdown between waits of up to 2 s for a
        # message, and waits once more after deciding to stop: ask it to
        # stop, then wake it twice with harmless messages.
        worker_state.should_terminate = 0
        ping.apply_async(queue="hastexo_lab")
        ping.apply_async(queue="hastexo_lab")
    purge()


@pytest.fixture
def workbench_settings(settings, cloud, cloud_b):
    """Settings for the workbench scenarios: providers ``default`` and
    ``backup`` on the fake clouds, templates from samples/hot."""
    from .helpers import ROOT
    settings.XBLOCK_SETTINGS = {"hastexo_lab": dict(
        FAST_LAB,
        providers={"default": cloud.provider_config(), "backup": cloud_b.provider_config()},
        template_dir=f"{ROOT}/samples/hot",
        terminal_url="/hastexo-lab-terminal/",
    )}
    return settings


@pytest.fixture
def gateway(transactional_db):
    """The terminal gateway on uvicorn, on an ephemeral port of localhost."""
    from hastexo_lab.terminal.gateway import Gateway
    from hastexo_lab.terminal.server import Background
    server = Background(Gateway(root="/hastexo-lab-terminal/", watch_interval=0.2), host="127.0.0.1").start()
    server.origin = f"http://localhost:{server.port}"
    server.app = server.server.config.app
    yield server
    server.stop()


@pytest.fixture
def workbench(db):
    """The workbench with fresh scenarios and no block state."""
    from workbench.runtime_util import reset_global_state
    reset_global_state()
