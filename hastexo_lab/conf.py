"""The one place hastexo_lab reads its settings.

Operators write ``XBLOCK_SETTINGS["hastexo_lab"]`` in the LMS/Studio settings.
Defaults are merged with it, every value is checked once, and a mistake raises
``ImproperlyConfigured`` with the key that is wrong. All durations are in
seconds, except ``js_timeouts``, which the browser uses, in milliseconds.
"""

import difflib
import functools
import re
from dataclasses import dataclass, field, fields

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from .providers import ProviderConfigError, make_provider

SETTINGS_NAME = "hastexo_lab"


@dataclass(frozen=True)
class JsTimeouts:
    """Browser timings in milliseconds."""

    status: int = 15_000  # slowest status polling interval
    keepalive: int = 30_000  # keepalive interval while the learner is active
    idle: int = 3_600_000  # no input for this long: stop sending keepalives
    check: int = 5_000  # progress check polling interval


@dataclass(frozen=True)
class TerminalLimits:
    """What the built-in terminal gateway lets one process, one client
    address and one learner hold (each gateway process counts its own)."""

    max_sockets: int = 2_000  # open WebSockets per process
    # Sockets that have not presented a valid ticket yet (each is closed
    # after first_message_timeout), per process and per client address.
    max_pending: int = 100
    max_pending_per_address: int = 10
    max_sessions_per_learner: int = 8  # open terminals of one learner
    # Tickets per second: redeemed for one learner, presented from one
    # client address; bursts of ten seconds' worth pass.
    redeem_rate_per_learner: float = 1.0
    redeem_rate_per_address: float = 10.0
    # Bytes one session buffers each way before it stops reading the side
    # that sends (the browser's WebSocket, the lab's SSH channel).
    session_buffer: int = 256 * 1024
    first_message_timeout: int = 10  # seconds for the ticket to come
    ssh_open_timeout: int = 20  # seconds to log in to the lab and start the shell


@dataclass(frozen=True)
class Settings:
    # Give up on a launch (or resume) that has not completed after this long.
    launch_timeout: int = 900
    # Suspend a stack this long after its last keepalive.
    suspend_timeout: int = 120
    # How often the suspender runs.
    suspend_interval: int = 60
    # Give up on a suspend that has not completed after this long.
    suspend_task_timeout: int = 900
    # Delete stacks not used (no keepalive, no resume) for this long; 0: never.
    delete_age: int = 14 * 86_400
    # At most this many stacks of one provider suspending at once.
    suspend_concurrency: int = 1_000
    # How often the reaper runs.
    delete_interval: int = 3_600
    # How often a failed delete is tried again before operators are asked to look.
    delete_attempts: int = 3
    # Give up on a delete that has not completed after this long.
    delete_task_timeout: int = 900
    # Delete stacks found at a provider with our name prefix but no live row.
    reap_zombies: bool = False
    # How often the reconciler runs, and how long a stack may sit in a
    # pending state, or go unwatched in a working one, before it steps in.
    reconcile_interval: int = 300
    reconcile_after: int = 300
    # Tries of a failed suspend or delete (with growing pauses) before a
    # stack is left for operators.
    failed_retries: int = 5
    js_timeouts: JsTimeouts = field(default_factory=JsTimeouts)
    # name -> provider settings (see hastexo_lab.providers); order is preference.
    providers: dict = field(default_factory=dict)
    # After the cloud reports a lab up, wait until it accepts connections on
    # its port before showing the terminal.
    wait_for_port: bool = True
    # Where templates are read from outside the LMS (workbench, demo); in the
    # LMS they come from the course's files.
    template_dir: str = ""
    # Which terminal the lab's iframe opens: "builtin" (the SSH terminal
    # gateway, ``hastexo-lab terminal``) or "guacamole".
    terminal: str = "builtin"
    # Where the terminal is served: the gateway's page (its root path), best
    # under the LMS's own host (a path of its web proxy).
    terminal_url: str = "/hastexo-lab-terminal/"
    # Seconds a terminal ticket may wait to be redeemed (once).
    terminal_ticket_ttl: int = 30
    # Origins besides the gateway's own whose pages may frame the terminal
    # (the LMS, where the gateway is on a host of its own).
    terminal_frame_ancestors: tuple = ()
    # The terminal's looks (the built-in terminal and Guacamole's SSH):
    # Guacamole's colour scheme names, a font name, a size in points.
    terminal_color_scheme: str = ""
    terminal_font_name: str = ""
    terminal_font_size: int = 0
    # The gateway's bounds on sockets, sessions, ticket rates and buffers.
    terminal_limits: TerminalLimits = field(default_factory=TerminalLimits)
    # With terminal "guacamole": where its web application is (as the
    # learner's browser reaches it), the JSON authentication's shared key
    # (json-secret-key: 32 hex digits), and how long a blob may wait to be
    # used (once). With guacamole_api_url (Guacamole as the LMS reaches it),
    # the LMS exchanges the blob for a Guacamole session itself, and the
    # iframe gets only that session's token.
    guacamole_url: str = "/guacamole/"
    guacamole_secret_key: str = ""
    guacamole_blob_ttl: int = 60
    guacamole_api_url: str = ""
    guacamole_rdp_security: str = "any"
    guacamole_rdp_resize_method: str = "display-update"
    guacamole_rdp_ignore_cert: bool = True
    # Session recordings (written by guacd, on its side): a folder, a name.
    guacamole_recording_path: str = ""
    guacamole_recording_name: str = ""
    # The Celery queue all lab tasks go to, so they never starve the LMS's queue.
    task_queue: str = "hastexo_lab"
    # The queue of progress checks: a learner's script may run for minutes,
    # and must never hold up a launch waiting in task_queue.
    check_queue: str = "hastexo_lab_checks"
    # How often a task retries a transient cloud error before giving up.
    task_retries: int = 5
    # Waiting on the cloud: the first poll comes after poll_initial, later polls
    # back off (a quarter of the time already waited) up to poll_max.
    poll_initial: float = 1.0
    poll_max: float = 15.0
    # Progress checks: the longest a whole check may take, and one script.
    check_timeout: int = 300
    remote_exec_timeout: int = 60
    # Keys that encrypt stack secrets at rest; the first encrypts, all decrypt
    # (for rotation). Empty: a key derived from Django's SECRET_KEY.
    encryption_keys: tuple = ()
    # What a lab costs: provider -> {"running": hourly price, "suspended":
    # hourly price}, in ``currency``; the usage report's cost and saving.
    hourly_prices: dict = field(default_factory=dict)
    currency: str = ""
    # Running time allowed per learner (seconds, across all courses) over the
    # last lab_usage_window seconds (0: all time); None: no limit. What a
    # learner over it meets: None (the log says so), "warn" (the page says
    # so, the lab still runs) or "block" (no new launch or resume until the
    # window has room again).
    lab_usage_limit: int | None = None
    lab_usage_window: int = 30 * 86_400
    lab_usage_limit_breach_policy: str | None = None
    # The LMS's metrics endpoint answers scrapes that bring this bearer
    # token; empty: the endpoint is off. Workers serve theirs on
    # metrics_port (0: off).
    metrics_token: str = ""
    metrics_port: int = 0
    # The address a worker's metrics server listens on: loopback unless the
    # operator opens it (then the scrape must bring metrics_token too).
    metrics_address: str = "127.0.0.1"


# key -> (minimum, maximum) for the integer settings; 0 may mean "off" where noted.
_RANGES = {
    "launch_timeout": (60, 86_400),
    "suspend_timeout": (30, 30 * 86_400),
    "suspend_interval": (5, 86_400),
    "suspend_task_timeout": (30, 86_400),
    "delete_interval": (60, 30 * 86_400),
    "delete_attempts": (1, 100),
    "delete_task_timeout": (30, 86_400),
    "suspend_concurrency": (1, 100_000),
    "reconcile_interval": (30, 86_400),
    "reconcile_after": (60, 86_400),
    "failed_retries": (0, 100),
    "task_retries": (0, 100),
    "terminal_ticket_ttl": (5, 600),
    "guacamole_blob_ttl": (10, 3600),
    "check_timeout": (10, 3600),
    "remote_exec_timeout": (1, 3600),
}
TERMINALS = ("builtin", "guacamole")
COLOR_SCHEMES = ("black-white", "gray-black", "green-black", "white-black")


def _fail(key, problem):
    raise ImproperlyConfigured(f"XBLOCK_SETTINGS['{SETTINGS_NAME}']['{key}']: {problem}")


def _check_unknown(raw, known, where=""):
    for key in raw:
        if key not in known:
            hint = difflib.get_close_matches(str(key), known, n=1)
            _fail(where + str(key), "unknown setting" + (f" (did you mean {hint[0]}?)" if hint else ""))


def _integer(key, value):
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(key, f"must be a whole number, not {value!r}")
    return value


def parse(raw):
    """Check ``raw`` (the operator's dict) and return typed Settings."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(f"XBLOCK_SETTINGS['{SETTINGS_NAME}'] must be a dict, not {type(raw).__name__}")
    names = [f.name for f in fields(Settings)]
    _check_unknown(raw, names)
    values = {}
    for key, (low, high) in _RANGES.items():
        if key in raw:
            value = _integer(key, raw[key])
            if not low <= value <= high:
                _fail(key, f"must be between {low} and {high}, not {value}")
            values[key] = value
    if "delete_age" in raw:
        value = _integer("delete_age", raw["delete_age"])
        if value != 0 and not 3_600 <= value <= 10 * 365 * 86_400:
            _fail("delete_age", f"is in seconds: 0 (never) or at least 3600, not {value} "
                                "(14 days is 1209600)")
        values["delete_age"] = value
    _guacamole(raw, values)
    for key in ("wait_for_port", "reap_zombies", "guacamole_rdp_ignore_cert"):
        if key in raw:
            if not isinstance(raw[key], bool):
                _fail(key, f"must be true or false, not {raw[key]!r}")
            values[key] = raw[key]
    if "template_dir" in raw:
        if not isinstance(raw["template_dir"], str):
            _fail("template_dir", f"must be a directory path, not {raw['template_dir']!r}")
        values["template_dir"] = raw["template_dir"]
    for key in ("terminal_url", "task_queue", "check_queue", "guacamole_url"):
        if key in raw:
            if not isinstance(raw[key], str) or not raw[key].strip():
                _fail(key, f"must be a non-empty string, not {raw[key]!r}")
            values[key] = raw[key].strip()
    if "terminal" in raw:
        if raw["terminal"] not in TERMINALS:
            _fail("terminal", f"must be one of {', '.join(TERMINALS)}, not {raw['terminal']!r}")
        values["terminal"] = raw["terminal"]
    if "terminal_frame_ancestors" in raw:
        origins = raw["terminal_frame_ancestors"]
        if isinstance(origins, str):
            origins = [origins]
        if not isinstance(origins, (list, tuple)) or not all(_is_origin(o) for o in origins):
            _fail("terminal_frame_ancestors", "must be a list of origins such as https://lms.example.com, "
                                              f"not {raw['terminal_frame_ancestors']!r}")
        values["terminal_frame_ancestors"] = tuple(o.rstrip("/") for o in origins)
    for key in ("poll_initial", "poll_max"):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 300:
                _fail(key, f"must be a number of seconds between 0 and 300, not {value!r}")
            values[key] = float(value)
    if values.get("poll_initial", 1.0) > values.get("poll_max", 15.0):
        _fail("poll_initial", "must not be larger than poll_max")
    if "js_timeouts" in raw:
        values["js_timeouts"] = _js_timeouts(raw["js_timeouts"])
    if "terminal_limits" in raw:
        values["terminal_limits"] = _terminal_limits(raw["terminal_limits"])
    if "providers" in raw:
        values["providers"] = _providers(raw["providers"])
    _usage(raw, values)
    if "encryption_keys" in raw:
        keys = raw["encryption_keys"]
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) and len(k) >= 16 for k in keys):
            _fail("encryption_keys", "must be a list of secret strings of at least 16 characters")
        values["encryption_keys"] = tuple(keys)
    return Settings(**values)


def _guacamole(raw, values):
    """The terminal's looks and Guacamole's settings; its key is required
    (and checked) when Guacamole is the terminal."""
    from .terminal import guacamole
    if "terminal_color_scheme" in raw:
        if raw["terminal_color_scheme"] not in COLOR_SCHEMES:
            _fail("terminal_color_scheme", f"must be one of {', '.join(COLOR_SCHEMES)}, "
                                           f"not {raw['terminal_color_scheme']!r}")
        values["terminal_color_scheme"] = raw["terminal_color_scheme"]
    if "terminal_font_name" in raw:
        name = raw["terminal_font_name"]
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9 ._-]{1,64}", name):
            _fail("terminal_font_name", f"must be a font name (letters, digits, spaces), not {name!r}")
        values["terminal_font_name"] = name
    if "terminal_font_size" in raw:
        size = raw["terminal_font_size"]
        size = int(size) if isinstance(size, str) and size.strip().isdigit() else size  # hastexo's "10"
        size = _integer("terminal_font_size", size)
        if not 6 <= size <= 48:
            _fail("terminal_font_size", f"must be between 6 and 48 (points), not {size}")
        values["terminal_font_size"] = size
    for key, allowed in (("guacamole_rdp_security", guacamole.RDP_SECURITY),
                         ("guacamole_rdp_resize_method", guacamole.RDP_RESIZE)):
        if key in raw:
            if raw[key] not in allowed:
                _fail(key, f"must be one of {', '.join(allowed)}, not {raw[key]!r}")
            values[key] = raw[key]
    for key in ("guacamole_api_url", "guacamole_recording_path", "guacamole_recording_name"):
        if key in raw:
            if not isinstance(raw[key], str):
                _fail(key, f"must be a string, not {raw[key]!r}")
            values[key] = raw[key].strip()
    if values.get("guacamole_api_url") and not values["guacamole_api_url"].startswith(("http://", "https://")):
        _fail("guacamole_api_url", f"must be an http:// or https:// URL, not {values['guacamole_api_url']!r}")
    if "guacamole_secret_key" in raw:
        try:
            guacamole.parse_key(raw["guacamole_secret_key"])
        except ValueError as exc:
            _fail("guacamole_secret_key", str(exc))
        values["guacamole_secret_key"] = raw["guacamole_secret_key"].strip()
    if raw.get("terminal") == "guacamole" and not values.get("guacamole_secret_key"):
        _fail("guacamole_secret_key", "is required with terminal 'guacamole' (the json-secret-key of "
                                      "Guacamole's JSON authentication: 32 hex digits)")


BREACH_POLICIES = ("warn", "block")


def _usage(raw, values):
    """Prices, the usage limit and its policy, and the metrics' settings."""
    if "hourly_prices" in raw:
        prices = raw["hourly_prices"]
        if not isinstance(prices, dict):
            _fail("hourly_prices", 'must be a dict of provider -> {"running": price, "suspended": price}')
        for name, price in prices.items():
            if not isinstance(price, dict) or not set(price) <= {"running", "suspended"} or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e6
                    for v in price.values()):
                _fail(f"hourly_prices.{name}", 'must be {"running": price, "suspended": price} with prices '
                                               f"of 0 or more per hour, not {price!r}")
        values["hourly_prices"] = {name: {"running": float(p.get("running", 0)),
                                          "suspended": float(p.get("suspended", 0))} for name, p in prices.items()}
    if "currency" in raw:
        if not isinstance(raw["currency"], str) or len(raw["currency"]) > 8:
            _fail("currency", f"must be a currency code such as USD, not {raw['currency']!r}")
        values["currency"] = raw["currency"].strip()
    if raw.get("lab_usage_limit") is not None:
        value = _integer("lab_usage_limit", raw["lab_usage_limit"])
        if value < 60:
            _fail("lab_usage_limit", f"is running seconds per learner: at least 60, or null for none, not {value}")
        values["lab_usage_limit"] = value
    if "lab_usage_window" in raw:
        value = _integer("lab_usage_window", raw["lab_usage_window"])
        if value != 0 and not 3_600 <= value <= 10 * 365 * 86_400:
            _fail("lab_usage_window", f"is in seconds: 0 (all time) or at least 3600, not {value}")
        values["lab_usage_window"] = value
    policy = raw.get("lab_usage_limit_breach_policy")
    if policy is not None and policy not in ("", "none", "None"):
        if policy not in BREACH_POLICIES:
            _fail("lab_usage_limit_breach_policy", f"must be null (log only), warn or block, not {policy!r}")
        values["lab_usage_limit_breach_policy"] = policy
    if "metrics_token" in raw:
        token = raw["metrics_token"]
        if not isinstance(token, str) or (token and len(token.strip()) < 16):
            _fail("metrics_token", "must be a secret of at least 16 characters (or empty: no endpoint)")
        values["metrics_token"] = token.strip()
    if "metrics_port" in raw:
        port = _integer("metrics_port", raw["metrics_port"])
        if not 0 <= port <= 65_535:
            _fail("metrics_port", f"must be a TCP port (1-65535) or 0 for none, not {port}")
        values["metrics_port"] = port
    if "metrics_address" in raw:
        address = raw["metrics_address"]
        if not isinstance(address, str) or not re.fullmatch(r"[0-9A-Fa-f.:]+|[A-Za-z0-9.-]+", address):
            _fail("metrics_address", f"must be an IP address or host name to listen on, not {address!r}")
        values["metrics_address"] = address


def _is_origin(value):
    return isinstance(value, str) and re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+/?", value) is not None


def _js_timeouts(raw):
    if not isinstance(raw, dict):
        _fail("js_timeouts", "must be a dict of status, keepalive, idle, check (milliseconds)")
    names = [f.name for f in fields(JsTimeouts)]
    _check_unknown(raw, names, "js_timeouts.")
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 500 <= value <= 86_400_000:
            _fail(f"js_timeouts.{key}", f"must be milliseconds between 500 and 86400000, not {value!r}")
    return JsTimeouts(**raw)


# terminal_limits key -> (minimum, maximum); the rates are per second.
_TERMINAL_LIMITS = {
    "max_sockets": (1, 1_000_000), "max_pending": (1, 100_000), "max_pending_per_address": (1, 10_000),
    "max_sessions_per_learner": (1, 1_000), "redeem_rate_per_learner": (0.01, 1_000),
    "redeem_rate_per_address": (0.01, 100_000), "session_buffer": (16 * 1024, 64 * 1024 * 1024),
    "first_message_timeout": (1, 300), "ssh_open_timeout": (1, 600),
}


def _terminal_limits(raw):
    if not isinstance(raw, dict):
        _fail("terminal_limits", f"must be a dict of {', '.join(_TERMINAL_LIMITS)}")
    _check_unknown(raw, list(_TERMINAL_LIMITS), "terminal_limits.")
    for key, value in raw.items():
        low, high = _TERMINAL_LIMITS[key]
        rate = key.startswith("redeem_rate")
        if isinstance(value, bool) or not isinstance(value, (int, float) if rate else int) or not low <= value <= high:
            _fail(f"terminal_limits.{key}", f"must be {'a number' if rate else 'a whole number'} between {low} "
                                            f"and {high}, not {value!r}")
    return TerminalLimits(**{key: float(value) if key.startswith("redeem_rate") else value
                             for key, value in raw.items()})


def _providers(raw):
    if not isinstance(raw, dict):
        _fail("providers", "must be a dict of provider name -> provider settings")
    for name, config in raw.items():
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            _fail("providers", f"provider names must be strings of 1 to 64 characters, not {name!r}")
        try:
            make_provider(name, config)
        except ProviderConfigError as exc:
            _fail(f"providers.{name}", str(exc))
    return dict(raw)


@functools.cache
def get_settings():
    """The checked settings; read once, and again after ``override_settings``."""
    from django.conf import settings as django_settings

    xblock_settings = getattr(django_settings, "XBLOCK_SETTINGS", None) or {}
    if not isinstance(xblock_settings, dict):
        raise ImproperlyConfigured(f"XBLOCK_SETTINGS must be a dict, not {type(xblock_settings).__name__}")
    return parse(xblock_settings.get(SETTINGS_NAME))


def _reset(setting, **kwargs):
    if setting in ("XBLOCK_SETTINGS", "SECRET_KEY"):
        get_settings.cache_clear()
        from . import clouds, crypto
        clouds.forget_providers()
        crypto.forget_keys()


setting_changed.connect(_reset)
