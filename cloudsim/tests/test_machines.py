"""The fake servers are machines: a real SSH client (asyncssh) logs in with
the stack's key or password, gets a real shell that reattaches, runs
commands, uploads by SFTP; suspend freezes the machine and resume thaws it."""

import asyncio
import os
import time

import asyncssh
import pytest
from hastexo_cloudsim import addresses, isolation
from hastexo_cloudsim.machines import wait_for_port
from hastexo_cloudsim.testing import admin_session, stack_outputs, wait_for_status, wait_until


@pytest.fixture
def lab(heat, template):
    """A stack of the sample template, created: (address, outputs)."""
    heat.stacks.create(stack_name="lab1", template=template, parameters={"run": "r"})
    stack = wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    outputs = {o["output_key"]: o["output_value"] for o in stack.outputs}
    return outputs["public_ip"], outputs


def connect(address, **kwargs):
    return asyncssh.connect(address, 22, known_hosts=None, **kwargs)


def with_key(outputs, username="training"):
    return {"username": username, "client_keys": [asyncssh.import_private_key(outputs["private_key"])]}


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 20))


def type_in_shell(address, outputs, line, settle=0.3):
    """Log in with a terminal, type ``line``, wait a moment, and leave
    (the shell goes on)."""
    async def session():
        async with connect(address, **with_key(outputs)) as conn:
            shell = await conn.create_process(term_type="xterm", term_size=(80, 24))
            shell.stdin.write(line + "\n")
            await asyncio.sleep(settle)
            shell.close()
    run(session())


def test_a_machine_boots_after_its_stack_is_created(heat, template, cloud):
    heat.stacks.create(stack_name="lab1", template=template, parameters={"run": "r"})
    stack = wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    address = next(o["output_value"] for o in stack.outputs if o["output_key"] == "public_ip")
    assert address.startswith("127.")
    assert wait_for_port(address, 22, timeout=5)


def test_key_login_runs_commands_with_their_exit_status(lab):
    address, outputs = lab
    assert wait_for_port(address, 22)

    async def session():
        async with connect(address, **with_key(outputs)) as conn:
            result = await conn.run("echo out; echo err >&2; exit 3")
            return result.stdout, result.stderr, result.exit_status
    assert run(session()) == ("out\n", "err\n", 3)


@pytest.mark.parametrize("login", [
    {"username": "training", "password": "wrong"},
    {"username": "nobody"},
    {"username": "root"},
])
def test_wrong_logins_are_refused(lab, login, heat, template):
    address, outputs = lab
    assert wait_for_port(address, 22)
    if "password" not in login:
        login = dict(with_key(outputs, login["username"]))
    with pytest.raises(asyncssh.PermissionDenied):
        run(connect(address, client_keys=login.pop("client_keys", None), **login).__aenter__())


def test_another_stacks_key_is_refused(lab, heat, template):
    address, _ = lab
    heat.stacks.create(stack_name="lab2", template=template, parameters={"run": "r"})
    other = wait_for_status(heat, "lab2", "CREATE_COMPLETE")
    other_key = next(o["output_value"] for o in other.outputs if o["output_key"] == "private_key")
    assert wait_for_port(address, 22)
    with pytest.raises(asyncssh.PermissionDenied):
        run(connect(address, username="training", client_keys=[asyncssh.import_private_key(other_key)]).__aenter__())


def test_password_login_and_sftp_upload(lab):
    address, outputs = lab
    assert wait_for_port(address, 22)

    async def session():
        async with connect(address, username="training", password=outputs["password"], client_keys=None) as conn:
            async with conn.start_sftp_client() as sftp:
                async with sftp.open("check.sh", "w") as handle:
                    await handle.write("echo uploaded; exit 0\n")
            result = await conn.run("bash check.sh")
            return result.stdout, result.exit_status
    assert run(session()) == ("uploaded\n", 0)


def test_a_second_login_finds_the_same_shell(lab):
    address, outputs = lab
    assert wait_for_port(address, 22)

    async def first():
        async with connect(address, **with_key(outputs)) as conn:
            shell = await conn.create_process(term_type="xterm", term_size=(100, 30))
            shell.stdin.write("export MARK=kept-$((6*7)); echo $MARK; tput cols\n")
            seen = ""
            while "kept-42" not in seen or "100" not in seen:
                seen += await asyncio.wait_for(shell.stdout.read(4096), 5)
            shell.close()

    async def second():
        async with connect(address, **with_key(outputs)) as conn:
            shell = await conn.create_process(term_type="xterm", term_size=(80, 24))
            shell.stdin.write("echo again-$MARK\n")
            seen = ""
            while "again-kept-42" not in seen:
                seen += await asyncio.wait_for(shell.stdout.read(4096), 5)
            return seen
    run(first())
    seen = run(second())
    assert "kept-42" in seen.split("again-kept-42")[0], "the scrollback of the first login is shown"


def test_suspend_freezes_the_machine_and_resume_thaws_it(lab, heat, cloud):
    address, outputs = lab
    assert wait_for_port(address, 22)

    type_in_shell(address, outputs, "(i=0; while true; do i=$((i+1)); echo $i > count; sleep 0.05; done) &", 0.5)
    (machine,) = [m for m in cloud.machines.machines.values() if m.address == address]
    count = os.path.join(machine.home, "count")

    def reading():
        with open(count) as handle:
            return int(handle.read() or 0)
    wait_until(lambda: reading() > 3, what="the counter to run")
    heat.actions.suspend("lab1")
    wait_for_status(heat, "lab1", "SUSPEND_COMPLETE")
    wait_until(lambda: machine.frozen, what="the machine to freeze")
    frozen = reading()
    time.sleep(0.5)
    assert reading() == frozen, "a suspended machine runs nothing"
    assert not wait_for_port(address, 22, timeout=0.5), "a suspended machine takes no logins"
    heat.actions.resume("lab1")
    wait_for_status(heat, "lab1", "RESUME_COMPLETE")
    wait_until(lambda: reading() > frozen + 3, what="the counter to go on where it was")
    assert wait_for_port(address, 22)


def test_delete_kills_everything_and_removes_the_home(lab, heat, cloud):
    address, outputs = lab
    assert wait_for_port(address, 22)

    type_in_shell(address, outputs, "sleep 600 &")
    (machine,) = [m for m in cloud.machines.machines.values() if m.address == address]
    sessions, user = set(machine.groups), machine.user
    heat.stacks.delete("lab1")
    wait_until(lambda: not os.path.exists(machine.home), timeout=10, what="the home to be removed")
    from hastexo_cloudsim.machines import _processes_of
    wait_until(lambda: not _processes_of(sessions), what="the machine's processes to end")
    if user is not None:  # as root: everything ran as the machine's user
        wait_until(lambda: not isolation.processes_of_user(user.uid), what="the machine's processes to end")
    assert not wait_for_port(address, 22, timeout=0.3)


def login(address, outputs, timeout=5):
    async def session():
        async with connect(address, **with_key(outputs)) as conn:
            return (await conn.run("echo in")).stdout
    return asyncio.run(asyncio.wait_for(session(), timeout))


def test_ssh_faults(lab, cloud):
    address, outputs = lab
    assert wait_for_port(address, 22)
    cloud.faults.add("ssh", "refuse")
    with pytest.raises((asyncssh.Error, OSError)):
        login(address, outputs)
    cloud.faults.add("ssh", "slow", delay=1.0)
    started = time.monotonic()
    assert login(address, outputs) == "in\n"
    assert time.monotonic() - started >= 1.0
    cloud.faults.add("ssh", "hang")
    with pytest.raises(TimeoutError):
        login(address, outputs, timeout=1.5)
    cloud.faults.add("ssh", "drop", delay=0.3)

    async def cut_off():
        try:
            async with connect(address, **with_key(outputs)) as conn:
                return (await conn.run("sleep 2; echo finished")).stdout
        except (asyncssh.Error, OSError):
            return "cut off"
    started = time.monotonic()
    assert "finished" not in asyncio.run(asyncio.wait_for(cut_off(), 5))
    assert time.monotonic() - started < 2
    assert login(address, outputs) == "in\n", "each fault fires once"


def test_ssh_faults_are_named_like_the_others():
    from hastexo_cloudsim import parse_spec
    assert parse_spec("ssh:slow:delay=2").delay == 2.0
    with pytest.raises(ValueError, match="an ssh fault's effect is one of"):
        parse_spec("ssh:fail")


def test_what_a_command_leaves_running_freezes_too(lab, heat, cloud):
    address, outputs = lab
    assert wait_for_port(address, 22)

    async def start():
        async with connect(address, **with_key(outputs)) as conn:
            await conn.run('nohup sh -c "while true; do date +%s%N > tick; sleep 0.05; done" >/dev/null 2>&1 &')
    run(start())
    (machine,) = [m for m in cloud.machines.machines.values() if m.address == address]
    tick = os.path.join(machine.home, "tick")
    wait_until(lambda: os.path.exists(tick), what="the command's loop to run")
    heat.actions.suspend("lab1")
    wait_for_status(heat, "lab1", "SUSPEND_COMPLETE")
    wait_until(lambda: machine.frozen, what="the machine to freeze")
    time.sleep(0.2)
    with open(tick) as handle:
        frozen = handle.read()
    time.sleep(0.5)
    with open(tick) as handle:
        assert handle.read() == frozen, "a background process of a command must freeze with the machine"


def test_every_server_answers_on_a_loopback_address_of_its_own(lab, heat, cloud):
    """The sample's second server has no floating IP: it reports the private
    address its subnet hands out, and its machine answers on loopback."""
    address, outputs = lab
    built = cloud.heat.find(cloud.config.project_id, "lab1").resources
    assert built["server_port"]["attributes"]["fixed_ips"][0]["ip_address"] == "192.168.122.2"
    assert built["second_server"]["attributes"]["first_address"] == "192.168.122.3"
    assert wait_until(lambda: len(cloud.machines.describe()) == 2, timeout=5)
    reply = admin_session(cloud).get(cloud.base_url + "/admin/machines").json()
    listed = {m["server"]: m for m in reply["machines"]}
    assert reply["ssh_port"] == cloud.ssh_port
    assert listed["second_server"]["private_addresses"] == ["192.168.122.3"]
    assert listed["server"]["listen_addresses"][0] == address
    (twin,) = listed["second_server"]["listen_addresses"]
    assert int(twin.split(".")[1]) in addresses.held(), "from a block of addresses this process holds"
    assert twin not in listed["server"]["listen_addresses"]
    assert wait_for_port(twin, cloud.ssh_port)

    async def session():
        async with connect(twin, **with_key(outputs)) as conn:
            return (await conn.run("echo second")).stdout
    assert run(session()) == "second\n"


def test_fixed_addresses_and_floating_ip_associations_as_the_template_says(heat, cloud):
    template = """
heat_template_version: 2018-08-31
resources:
  key: {type: OS::Nova::KeyPair, properties: {name: k, save_private_key: true}}
  net: {type: OS::Neutron::Net}
  subnet: {type: OS::Neutron::Subnet, properties: {network: {get_resource: net}, cidr: 10.9.0.0/24}}
  port: {type: OS::Neutron::Port, properties: {network: {get_resource: net}, fixed_ips: [{ip_address: 10.9.0.50}]}}
  vm: {type: OS::Nova::Server, properties: {image: x, flavor: y, networks: [{port: {get_resource: port}}]}}
  fip: {type: OS::Neutron::FloatingIP, properties: {floating_network: public}}
  assoc: {type: OS::Neutron::FloatingIPAssociation,
          properties: {floatingip_id: {get_resource: fip}, port_id: {get_resource: port}}}
outputs:
  private: {value: {get_attr: [vm, first_address]}}
  public: {value: {get_attr: [fip, floating_ip_address]}}
"""
    heat.stacks.create(stack_name="fixed", template=template)
    stack = wait_for_status(heat, "fixed", "CREATE_COMPLETE")
    outputs = {o["output_key"]: o["output_value"] for o in stack.outputs}
    assert outputs["private"] == "10.9.0.50"
    assert wait_until(lambda: cloud.machines.describe(), timeout=5)
    (machine,) = cloud.machines.describe()
    assert machine["listen_addresses"][0] == outputs["public"]
    assert wait_for_port(outputs["public"], cloud.ssh_port)


def test_the_ssh_port_is_22_where_it_may_be_bound_else_the_configured_one():
    from hastexo_cloudsim.config import CloudConfig, choose_ssh_port
    assert choose_ssh_port(CloudConfig(), can_bind=lambda: True) == 22
    assert choose_ssh_port(CloudConfig(), can_bind=lambda: False) == 2222
    assert choose_ssh_port(CloudConfig(fallback_ssh_port=2022), can_bind=lambda: False) == 2022
    assert choose_ssh_port(CloudConfig(ssh_port=2200), can_bind=lambda: True) == 2200
    with pytest.raises(ValueError, match="ssh_port must be a TCP port number"):
        CloudConfig(ssh_port=70000)


def test_machines_on_another_port_and_the_provider_settings_follow(template):
    from hastexo_cloudsim.pytest_plugin import start_cloud
    from hastexo_cloudsim.testing import heat_for
    cloud = start_cloud(ssh_port=2222)
    try:
        assert cloud.ssh_port == 2222 and cloud.provider_config()["ssh_port"] == 2222
        heat = heat_for(cloud)
        heat.stacks.create(stack_name="lab1", template=template, parameters={"run": "r"})
        stack = wait_for_status(heat, "lab1", "CREATE_COMPLETE")
        address = next(o["output_value"] for o in stack.outputs if o["output_key"] == "public_ip")
        assert wait_for_port(address, 2222)
    finally:
        cloud.stop()


def test_nova_floating_ip_of_old_templates_reaches_the_server(heat, cloud):
    """OS::Nova::FloatingIP, which Heat keeps (hidden, through Neutron) for
    templates written before Neutron: the server answers at its address."""
    template = """
heat_template_version: 2015-04-30
resources:
  vm: {type: OS::Nova::Server, properties: {image: x, flavor: y}}
  fip: {type: OS::Nova::FloatingIP, properties: {pool: public}}
  assoc: {type: OS::Nova::FloatingIPAssociation,
          properties: {floating_ip: {get_resource: fip}, server_id: {get_resource: vm}}}
outputs:
  public: {value: {get_attr: [fip, ip]}}
  pool: {value: {get_attr: [fip, pool]}}
"""
    heat.stacks.create(stack_name="nova-fip", template=template)
    wait_for_status(heat, "nova-fip", "CREATE_COMPLETE")
    outputs = stack_outputs(heat, "nova-fip")
    assert outputs["pool"] == "public" and outputs["public"]
    assert wait_until(lambda: cloud.machines.describe(), timeout=5)
    (machine,) = cloud.machines.describe()
    assert machine["listen_addresses"][0] == outputs["public"]
    assert wait_for_port(outputs["public"], cloud.ssh_port)


def test_an_update_in_place_keeps_the_machine_and_a_replacement_gets_a_new_one(heat, cloud):
    """Heat changes a server's name in place, and replaces one whose
    availability zone changes: the machine (and the learner's shell) stays,
    or is new."""
    template = """
heat_template_version: 2018-08-31
parameters:
  name: {type: string, default: one}
  zone: {type: string, default: a}
resources:
  vm: {type: OS::Nova::Server, properties: {image: x, flavor: y, name: {get_param: name},
                                            availability_zone: {get_param: zone}}}
"""
    heat.stacks.create(stack_name="inplace", template=template)
    wait_for_status(heat, "inplace", "CREATE_COMPLETE")
    (first,) = wait_until(lambda: cloud.machines.describe(), timeout=5)
    reference = heat.resources.get("inplace", "vm").physical_resource_id
    heat.stacks.update("inplace", existing=True, parameters={"name": "two"})
    wait_for_status(heat, "inplace", "UPDATE_COMPLETE")
    time.sleep(0.5)
    (same,) = cloud.machines.describe()
    assert same["listen_addresses"] == first["listen_addresses"]
    assert heat.resources.get("inplace", "vm").physical_resource_id == reference
    heat.stacks.update("inplace", existing=True, parameters={"zone": "b"})
    wait_for_status(heat, "inplace", "UPDATE_COMPLETE")
    other = wait_until(lambda: [m for m in cloud.machines.describe()
                                if m["listen_addresses"] != first["listen_addresses"]], timeout=5)
    assert len(other) == 1 and len(cloud.machines.describe()) == 1
    assert heat.resources.get("inplace", "vm").physical_resource_id != reference


def test_a_group_updated_in_place_keeps_its_members_machines(heat, cloud):
    """A ResourceGroup of template resources grows by one: the members it
    had keep their machines; only the new one boots."""
    node = """heat_template_version: 2016-10-14
parameters:
  index: {type: string}
resources:
  vm: {type: OS::Nova::Server, properties: {image: x, flavor: y, name: {list_join: ["-", [n, {get_param: index}]]}}}
"""
    template = """heat_template_version: 2016-10-14
parameters:
  count: {type: number, default: 2}
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties: {count: {get_param: count}, resource_def: {type: node.yaml, properties: {index: "%index%"}}}
"""
    heat.stacks.create(stack_name="grow", template=template, files={"node.yaml": node})
    wait_for_status(heat, "grow", "CREATE_COMPLETE")
    before = wait_until(lambda: len(cloud.machines.describe()) == 2 and cloud.machines.describe(), timeout=5)
    heat.stacks.update("grow", existing=True, parameters={"count": 3})
    wait_for_status(heat, "grow", "UPDATE_COMPLETE")
    after = wait_until(lambda: len(cloud.machines.describe()) == 3 and cloud.machines.describe(), timeout=5)
    addresses = {m["listen_addresses"][0] for m in after}
    assert {m["listen_addresses"][0] for m in before} < addresses
