"""One machine's terminal traffic never holds up another's: all machines of
a cloud share one event loop, and a shell that takes no input (or a login
that takes no output) must not stall it."""

import asyncio
import time

import asyncssh
import pytest
from hastexo_cloudsim.machines import wait_for_port
from hastexo_cloudsim.testing import stack_outputs, wait_for_status

PASTE = b"echo pasted\n" * (8 * 1024 * 1024 // 12)  # 8 MB, in lines the terminal keeps
# What the cloud may keep for a login that reads nothing (shell.OUTPUT_QUEUE and a read).
KEPT = 1024 * 1024


@pytest.fixture
def labs(heat, template):
    found = []
    for name in ("busy", "other"):
        heat.stacks.create(stack_name=name, template=template, parameters={"run": "r"})
        wait_for_status(heat, name, "CREATE_COMPLETE")
        outputs = stack_outputs(heat, name)
        assert wait_for_port(outputs["public_ip"], 22)
        found.append(outputs)
    return found


def connect(outputs):
    return asyncssh.connect(outputs["public_ip"], 22, username="training", known_hosts=None,
                            client_keys=[asyncssh.import_private_key(outputs["private_key"])])


async def answer_time(outputs):
    """Seconds until a command on the machine answers (at most 5)."""
    started = time.monotonic()

    async def ask():
        async with connect(outputs) as conn:
            return (await conn.run("echo alive")).stdout
    assert await asyncio.wait_for(ask(), 5) == "alive\n"
    return time.monotonic() - started


def test_a_paste_into_a_busy_shell_holds_up_no_other_machine(labs):
    busy, other = labs

    async def scenario():
        async with connect(busy) as conn:
            shell = await conn.create_process(term_type="xterm", term_size=(80, 24), encoding=None)
            shell.stdin.write(b"sleep 30\n")
            await asyncio.sleep(0.5)
            shell.stdin.write(PASTE)  # the shell reads none of it while sleep runs
            await asyncio.sleep(1)
            try:
                return await answer_time(other)
            except TimeoutError:
                return None
            finally:
                conn.abort()
    elapsed = asyncio.run(scenario())
    assert elapsed is not None and elapsed < 2, f"the other machine took {elapsed} s to answer"


def test_a_login_that_reads_nothing_bounds_what_the_cloud_keeps_for_it(labs, cloud):
    busy, other = labs

    async def scenario():
        async with connect(busy) as conn:
            # The client reads nothing, so SSH's window soon stops the server sending.
            shell = await conn.create_process(term_type="xterm", term_size=(80, 24), encoding=None)
            shell.stdin.write(b"yes this line floods the terminal\n")
            await asyncio.sleep(2)
            (machine,) = [m for m in cloud.machines.machines.values() if m.address == busy["public_ip"]]
            kept = max(p.channel.get_write_buffer_size() for p in machine.shell.attached)
            elapsed = await answer_time(other)
            conn.abort()
            return kept, elapsed
    kept, elapsed = asyncio.run(scenario())
    assert kept <= KEPT, f"{kept} bytes kept for a login that reads nothing"
    assert elapsed < 2
