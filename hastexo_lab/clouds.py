"""Provider instances by name, built from the settings and kept per process
(one keystone session, and so one token, per provider)."""

import threading

from . import conf
from .providers import ProviderConfigError, make_provider

_providers = {}
_lock = threading.Lock()


def get_provider(name):
    """The provider called ``name`` in ``XBLOCK_SETTINGS['hastexo_lab']['providers']``."""
    with _lock:
        provider = _providers.get(name)
        if provider is None:
            configs = conf.get_settings().providers
            if name not in configs:
                known = ", ".join(sorted(configs)) or "none configured"
                raise ProviderConfigError(f"Unknown provider {name!r} (known: {known})")
            provider = _providers[name] = make_provider(name, configs[name])
        return provider


def forget_providers():
    with _lock:
        _providers.clear()


def lab_port(stack, port=None):
    """The port to reach a stack's lab on: ``port`` (else the one chosen at
    launch), where SSH's own port 22 is whatever port the stack's provider
    answers it on."""
    port = port or stack.port or {"rdp": 3389, "vnc": 5901}.get(stack.protocol, 22)
    if stack.protocol == "ssh" and port == 22 and stack.provider:
        try:
            return get_provider(stack.provider).ssh_port
        except ProviderConfigError:
            return port  # a provider since removed from the settings
    return port
