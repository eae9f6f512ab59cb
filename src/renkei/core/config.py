"""Settings from environment variables, then a TOML file, then defaults.

Every setting is listed in ``SETTINGS`` so the docs and a test can check that each one is
documented (docs/configuration.md).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

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
)


class ConfigError(ValueError):
    """The configuration file or a setting is unusable; the message says which and why."""


@dataclass(frozen=True)
class Config:
    home: Path
    database_url: str
    lang: str
    max_line_bytes: int


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
    return Config(
        home=home,
        database_url=pick("RENKEI_DATABASE_URL", "database_url", default_url),
        lang=lang,
        max_line_bytes=max_line,
    )
