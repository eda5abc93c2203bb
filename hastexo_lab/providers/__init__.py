"""Cloud providers: the interface, the error kinds, and a factory by ``type``."""

from importlib import import_module

from .base import (
    GONE,
    PermanentProviderError,
    Provider,
    ProviderConfigError,
    ProviderError,
    StackConflict,
    StackInfo,
    StackNotFound,
    TransientProviderError,
)

# type -> "module:class"; imported on use so a provider's client libraries load
# only where that provider is configured.
PROVIDER_TYPES = {
    "openstack": "hastexo_lab.providers.openstack:OpenStackProvider",
}


def make_provider(name, config):
    """Build the provider called ``name`` from its settings dict.

    Raises ProviderConfigError naming the provider and the key that is wrong.
    """
    if not isinstance(config, dict):
        raise ProviderConfigError(f"Provider {name!r}: settings must be a mapping, not {type(config).__name__}")
    kind = config.get("type", "openstack")
    if not isinstance(kind, str) or kind not in PROVIDER_TYPES:
        raise ProviderConfigError(
            f"Provider {name!r}: unknown type {kind!r} (known: {', '.join(sorted(PROVIDER_TYPES))})")
    ssh_port = config.get("ssh_port", 22)
    if isinstance(ssh_port, bool) or not isinstance(ssh_port, int) or not 0 < ssh_port < 65536:
        raise ProviderConfigError(
            f"Provider {name!r}: ssh_port: must be a TCP port number (1..65535), not {ssh_port!r}")
    module, cls = PROVIDER_TYPES[kind].split(":")
    provider = getattr(import_module(module), cls)(name, config)
    provider.ssh_port = ssh_port
    return provider


__all__ = [
    "GONE", "PROVIDER_TYPES", "PermanentProviderError", "Provider", "ProviderConfigError",
    "ProviderError", "StackConflict", "StackInfo", "StackNotFound", "TransientProviderError",
    "make_provider",
]
