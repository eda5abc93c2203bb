"""Settings of an OpenStack provider, checked once, with errors that name the key.

The ``os_*`` keys are those operators of the hastexo XBlock already write.
"""

import difflib
import os
from dataclasses import dataclass

from .base import ProviderConfigError

STRING_KEYS = (
    "os_auth_url", "os_auth_token", "os_username", "os_password", "os_user_id",
    "os_user_domain_id", "os_user_domain_name", "os_project_id", "os_project_name",
    "os_project_domain_id", "os_project_domain_name", "os_region_name",
    "os_interface", "ca_file",
)
NUMBER_KEYS = ("connect_timeout", "read_timeout")
BOOL_KEYS = ("verify_tls",)
# Keys that belong to the provider list entry rather than to the cloud, tolerated
# here so one dict can carry both.
OTHER_KEYS = ("type", "capacity", "template", "environment", "ssh_port")
KNOWN_KEYS = STRING_KEYS + NUMBER_KEYS + BOOL_KEYS + OTHER_KEYS
INTERFACES = ("public", "internal", "admin")


@dataclass(frozen=True)
class OpenStackConfig:
    name: str
    auth_url: str
    auth_token: str = ""
    username: str = ""
    password: str = ""
    user_id: str = ""
    user_domain_id: str = ""
    user_domain_name: str = ""
    project_id: str = ""
    project_name: str = ""
    project_domain_id: str = ""
    project_domain_name: str = ""
    region_name: str = ""
    interface: str = "public"
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    verify_tls: bool = True
    ca_file: str = ""

    def __repr__(self):
        # Never show the password or token, wherever a config ends up printed.
        return f"OpenStackConfig(name={self.name!r}, auth_url={self.auth_url!r}, region={self.region_name!r})"

    @property
    def verify(self):
        """What requests takes as ``verify``: a CA bundle path, or a bool."""
        return self.ca_file or self.verify_tls

    @classmethod
    def from_dict(cls, name, raw):
        def fail(key, problem):
            raise ProviderConfigError(f"Provider {name!r}: {key}: {problem}")

        for key in raw:
            if key not in KNOWN_KEYS:
                hint = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
                fail(key, "unknown key" + (f" (did you mean {hint[0]}?)" if hint else ""))
        values = {}
        for key in STRING_KEYS:
            value = raw.get(key)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                fail(key, f"must be a string, not {type(value).__name__}")
            values[key] = value.strip()
        for key in NUMBER_KEYS:
            if key in raw:
                value = raw[key]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 3600:
                    fail(key, f"must be a number of seconds between 0 and 3600, not {value!r}")
                values[key] = float(value)
        for key in BOOL_KEYS:
            if key in raw:
                if not isinstance(raw[key], bool):
                    fail(key, f"must be true or false, not {raw[key]!r}")
                values[key] = raw[key]

        url = values.get("os_auth_url")
        if not url:
            fail("os_auth_url", "is required")
        if not url.startswith(("http://", "https://")):
            fail("os_auth_url", f"must be an http:// or https:// URL, not {url!r}")
        if "os_auth_token" not in values:
            if "os_password" not in values:
                fail("os_password", "is required (or give os_auth_token)")
            if "os_username" not in values and "os_user_id" not in values:
                fail("os_username", "is required (or give os_user_id, or os_auth_token)")
            if ("os_user_id" not in values and "os_user_domain_id" not in values
                    and "os_user_domain_name" not in values):
                fail("os_user_domain_name", "is required with os_username (or give os_user_domain_id)")
        if "os_project_id" not in values:
            if "os_project_name" not in values:
                fail("os_project_name", "is required (or give os_project_id)")
            if "os_project_domain_id" not in values and "os_project_domain_name" not in values:
                fail("os_project_domain_name", "is required with os_project_name (or give os_project_domain_id)")
        if values.get("os_interface", "public") not in INTERFACES:
            fail("os_interface", f"must be one of {', '.join(INTERFACES)}")
        if "ca_file" in values and not os.path.isfile(values["ca_file"]):
            fail("ca_file", f"no such file: {values['ca_file']}")

        fields = {key.removeprefix("os_"): value for key, value in values.items()}
        return cls(name=name, **fields)
