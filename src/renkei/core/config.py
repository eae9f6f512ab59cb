"""Settings from environment variables, then a TOML file, then defaults.

Every setting is listed in ``SETTINGS`` so the docs and a test can check that each one is
documented (docs/configuration.md).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs


@dataclass(frozen=True)
class Setting:
    """One documented setting: its environment variable, TOML key and meaning."""

    env: str
    key: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("RENKEI_HOME", "home", "Data directory (database, reports); default: the user data dir."),
    Setting("RENKEI_CONFIG", "", "Path of the TOML configuration file; default: RENKEI_HOME/renkei.toml."),
    Setting("RENKEI_DATABASE_URL", "database_url", "SQLAlchemy URL; default: SQLite in RENKEI_HOME."),
    Setting("RENKEI_LANG", "lang", "Language of reports and messages: en or ja; default: the locale."),
    Setting("RENKEI_MAX_LINE_BYTES", "max_line_bytes", "Longest log line analysed; longer ones are reported and skipped."),
    Setting("RENKEI_TOKEN", "", "API token that `renkei sharing` commands act with (environment only; never in a file)."),
    Setting("RENKEI_INCIDENT_SLA_CRITICAL", "incident_sla_critical", "Acknowledge/resolve deadlines of a critical incident, e.g. 15m/4h."),
    Setting("RENKEI_INCIDENT_SLA_HIGH", "incident_sla_high", "Acknowledge/resolve deadlines of a high incident, e.g. 1h/24h."),
    Setting("RENKEI_INCIDENT_SLA_MEDIUM", "incident_sla_medium", "Acknowledge/resolve deadlines of a medium incident, e.g. 4h/3d."),
    Setting("RENKEI_INCIDENT_SLA_LOW", "incident_sla_low", "Acknowledge/resolve deadlines of a low incident, e.g. 1d/10d."),
    Setting("RENKEI_SMTP_HOST", "smtp_host", "SMTP server that incident notifications are sent through; none: no e-mail."),
    Setting("RENKEI_SMTP_PORT", "smtp_port", "Port of the SMTP server."),
    Setting("RENKEI_SMTP_FROM", "smtp_from", "Sender address of incident notifications."),
    Setting("RENKEI_SMTP_STARTTLS", "smtp_starttls", "true: require STARTTLS before sending (and before logging in)."),
    Setting("RENKEI_SMTP_USER", "smtp_user", "User name to log in to the SMTP server with; none: no login."),
    Setting("RENKEI_SMTP_PASSWORD", "", "Password for RENKEI_SMTP_USER (environment only; never in a file)."),
    Setting("RENKEI_PUBLIC_ORIGIN", "public_origin", "The console's origin as browsers see it behind a TLS proxy, e.g. https://hub.example."),
)

#: incident severities and their default (acknowledge, resolve) deadlines, as the settings
#: RENKEI_INCIDENT_SLA_<SEVERITY> write them
INCIDENT_SLA_DEFAULTS = {"critical": "15m/4h", "high": "1h/24h", "medium": "4h/3d",
                         "low": "1d/10d"}
_DURATION = re.compile(r"([1-9][0-9]{0,5})([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class ConfigError(ValueError):
    """The configuration file or a setting is unusable; the message says which and why."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where incident notifications are mailed through; ``host`` empty: no e-mail is sent."""

    host: str = ""
    port: int = 25
    sender: str = "renkei@localhost"
    starttls: bool = False
    user: str = ""
    password: str = ""


def _default_sla() -> dict[str, tuple[timedelta, timedelta]]:
    return {name: parse_sla(value, name) for name, value in INCIDENT_SLA_DEFAULTS.items()}


@dataclass(frozen=True)
class Config:
    home: Path
    database_url: str
    lang: str
    max_line_bytes: int
    #: severity -> (acknowledge within, resolve within)
    incident_sla: dict[str, tuple[timedelta, timedelta]] = field(default_factory=_default_sla)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    #: ``https://hub.example``: the console's origin behind a proxy; "": the request's own
    public_origin: str = ""


def parse_sla(text: str, severity: str) -> tuple[timedelta, timedelta]:
    """``15m/4h`` as (acknowledge within, resolve within); units s, m, h, d."""
    where = f"RENKEI_INCIDENT_SLA_{severity.upper()}/incident_sla_{severity}"
    parts = text.strip().split("/")
    found = [_DURATION.fullmatch(part.strip()) for part in parts]
    if len(parts) != 2 or not all(found):
        raise ConfigError(f"{where}: expected two durations such as 15m/4h, got {text[:40]!r}")
    ack, resolve = (timedelta(**{_UNITS[m.group(2)]: int(m.group(1))}) for m in found if m)
    if ack > resolve:
        raise ConfigError(f"{where}: the acknowledge deadline comes after the resolve deadline")
    return ack, resolve


DEFAULT_PORTS = {"http": "80", "https": "443"}


def normal_origin(scheme: str, netloc: str) -> str:
    """``scheme://host[:port]`` as a browser sends it in ``Origin``: lower case, without
    the scheme's default port."""
    scheme, netloc = scheme.lower(), netloc.lower()
    host, colon, port = netloc.rpartition(":")
    if colon and "]" not in port and DEFAULT_PORTS.get(scheme) == port:
        netloc = host
    return f"{scheme}://{netloc}"


def parse_public_origin(text: str, where: str = "RENKEI_PUBLIC_ORIGIN/public_origin") -> str:
    """``https://hub.example`` (or ``http://…``, a port allowed) in its normal form; "" for
    none. A path, query, user or anything but http(s) is refused: an origin is only
    scheme, host and port."""
    value = text.strip()
    if not value:
        return ""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname
            or parts.username is not None or parts.path not in ("", "/") or parts.query
            or parts.fragment or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value)
            or (port is not None and not 1 <= port <= 65535)):
        raise ConfigError(f"{where}: expected an origin such as https://hub.example, got "
                          f"{value[:80]!r}")
    return normal_origin(parts.scheme, parts.netloc)


def _locale_lang(env: dict[str, str]) -> str:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(var, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def _read_toml(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    section = data.get("renkei", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [renkei] must be a table")
    known = {s.key for s in SETTINGS if s.key}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return section


def load_config(environ: dict[str, str] | None = None) -> Config:
    """Resolve the configuration; environment variables win over the file."""
    env = dict(os.environ if environ is None else environ)
    home = Path(env.get("RENKEI_HOME") or platformdirs.user_data_dir("renkei")).expanduser()
    explicit = env.get("RENKEI_CONFIG")
    file_path = Path(explicit or home / "renkei.toml").expanduser()
    if explicit and not file_path.is_file():
        raise ConfigError(f"RENKEI_CONFIG: no such file {file_path}")
    file_values = _read_toml(file_path)
    if "home" in file_values and "RENKEI_HOME" not in env:
        home = Path(str(file_values["home"])).expanduser()

    def pick(setting_env: str, key: str, default: str) -> str:
        return env.get(setting_env) or str(file_values.get(key, default))

    lang = pick("RENKEI_LANG", "lang", _locale_lang(env))
    if lang not in ("en", "ja"):
        raise ConfigError(f"RENKEI_LANG/lang: expected 'en' or 'ja', got {lang!r}")
    raw_max = pick("RENKEI_MAX_LINE_BYTES", "max_line_bytes", str(256 * 1024))
    try:
        max_line = int(raw_max)
    except ValueError as exc:
        raise ConfigError(f"RENKEI_MAX_LINE_BYTES/max_line_bytes: not an integer: {raw_max!r}") from exc
    if not 1024 <= max_line <= 64 * 1024 * 1024:
        raise ConfigError("RENKEI_MAX_LINE_BYTES/max_line_bytes: must be between 1024 and 67108864")
    default_url = f"sqlite:///{home / 'renkei.db'}"
    sla = {name: parse_sla(pick(f"RENKEI_INCIDENT_SLA_{name.upper()}", f"incident_sla_{name}",
                                default), name)
           for name, default in INCIDENT_SLA_DEFAULTS.items()}
    return Config(
        home=home,
        database_url=pick("RENKEI_DATABASE_URL", "database_url", default_url),
        lang=lang,
        max_line_bytes=max_line,
        incident_sla=sla,
        smtp=_smtp(env, pick),
        public_origin=parse_public_origin(pick("RENKEI_PUBLIC_ORIGIN", "public_origin", "")),
    )


def _smtp(env: dict[str, str], pick: Callable[[str, str, str], str]) -> SmtpSettings:
    raw_port = pick("RENKEI_SMTP_PORT", "smtp_port", "25")
    if not (raw_port.isascii() and raw_port.isdigit()) or len(raw_port) > 5 or not 1 <= int(raw_port) <= 65535:
        raise ConfigError(f"RENKEI_SMTP_PORT/smtp_port: not a port number: {raw_port[:20]!r}")
    starttls = pick("RENKEI_SMTP_STARTTLS", "smtp_starttls", "false").strip().lower()
    if starttls not in ("true", "false"):
        raise ConfigError("RENKEI_SMTP_STARTTLS/smtp_starttls: expected true or false")
    return SmtpSettings(host=pick("RENKEI_SMTP_HOST", "smtp_host", ""), port=int(raw_port),
                        sender=pick("RENKEI_SMTP_FROM", "smtp_from", "renkei@localhost"),
                        starttls=starttls == "true", user=pick("RENKEI_SMTP_USER", "smtp_user", ""),
                        password=env.get("RENKEI_SMTP_PASSWORD", ""))
