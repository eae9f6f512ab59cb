"""Settings: environment over the TOML file over defaults; bad input named, never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from renkei.core.config import SETTINGS, ConfigError, load_config


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The default language comes from the locale; pin it so defaults are predictable.
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def write_toml(home: Path, text: str) -> Path:
    path = home / "renkei.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file(home: Path) -> None:
    config = load_config({"RENKEI_HOME": str(home)})
    assert config.home == home
    assert config.database_url == f"sqlite:///{home / 'renkei.db'}"
    assert config.lang == "en"
    assert config.max_line_bytes == 256 * 1024


def test_default_language_follows_the_locale(home: Path) -> None:
    assert load_config({"RENKEI_HOME": str(home), "LANG": "ja_JP.UTF-8"}).lang == "ja"
    assert load_config({"RENKEI_HOME": str(home), "LANG": "C.UTF-8"}).lang == "en"


def test_toml_overrides_defaults(home: Path) -> None:
    write_toml(
        home,
        '[renkei]\nlang = "ja"\nmax_line_bytes = 4096\n'
        'database_url = "postgresql://db.example/renkei"\n',
    )
    config = load_config({"RENKEI_HOME": str(home)})
    assert config.lang == "ja"
    assert config.max_line_bytes == 4096
    assert config.database_url == "postgresql://db.example/renkei"


def test_toml_without_section_is_read_too(home: Path) -> None:
    write_toml(home, 'lang = "ja"\n')
    assert load_config({"RENKEI_HOME": str(home)}).lang == "ja"


def test_environment_overrides_toml(home: Path) -> None:
    write_toml(home, '[renkei]\nlang = "ja"\nmax_line_bytes = 4096\n')
    config = load_config(
        {"RENKEI_HOME": str(home), "RENKEI_LANG": "en", "RENKEI_MAX_LINE_BYTES": "8192"}
    )
    assert config.lang == "en"
    assert config.max_line_bytes == 8192


def test_renkei_config_names_another_file(
    home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("etc") / "site.toml"
    elsewhere.write_text('[renkei]\nlang = "ja"\n', encoding="utf-8")
    config = load_config({"RENKEI_HOME": str(home), "RENKEI_CONFIG": str(elsewhere)})
    assert config.lang == "ja"


def test_home_from_toml_moves_the_default_database(
    home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = tmp_path_factory.mktemp("data")
    config_file = write_toml(home, f'[renkei]\nhome = "{data.as_posix()}"\n')
    config = load_config({"RENKEI_CONFIG": str(config_file)})
    assert config.home == data
    assert config.database_url == f"sqlite:///{data / 'renkei.db'}"


def test_bad_toml_names_the_file(home: Path) -> None:
    path = write_toml(home, "[renkei\nlang = ja\n")
    with pytest.raises(ConfigError, match="not valid TOML") as raised:
        load_config({"RENKEI_HOME": str(home)})
    assert str(path) in str(raised.value)


def test_toml_that_is_not_utf8_names_the_file(home: Path) -> None:
    path = home / "renkei.toml"
    path.write_bytes('lang = "日本語"\n'.encode("shift_jis"))
    with pytest.raises(ConfigError, match="not valid TOML") as raised:
        load_config({"RENKEI_HOME": str(home)})
    assert str(path) in str(raised.value)


def test_unknown_key_names_file_and_key(home: Path) -> None:
    path = write_toml(home, '[renkei]\nlang = "en"\ndatabse_url = "sqlite://"\n')
    with pytest.raises(ConfigError, match="databse_url") as raised:
        load_config({"RENKEI_HOME": str(home)})
    assert str(path) in str(raised.value)


def test_renkei_section_must_be_a_table(home: Path) -> None:
    path = write_toml(home, 'renkei = "yes"\n')
    with pytest.raises(ConfigError, match=r"\[renkei\] must be a table") as raised:
        load_config({"RENKEI_HOME": str(home)})
    assert str(path) in str(raised.value)


@pytest.mark.parametrize("lang", ["fr", "JA", "ja_JP", "'; DROP TABLE x; --"])
def test_bad_language_names_the_setting(home: Path, lang: str) -> None:
    with pytest.raises(ConfigError, match="RENKEI_LANG/lang") as raised:
        load_config({"RENKEI_HOME": str(home), "RENKEI_LANG": lang})
    assert repr(lang) in str(raised.value)


def test_bad_language_in_toml_is_rejected(home: Path) -> None:
    write_toml(home, '[renkei]\nlang = "de"\n')
    with pytest.raises(ConfigError, match="RENKEI_LANG/lang"):
        load_config({"RENKEI_HOME": str(home)})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("lots", "not an integer"),
        ("1.5", "not an integer"),
        ("1023", "between 1024 and 67108864"),
        ("67108865", "between 1024 and 67108864"),
        ("-1", "between 1024 and 67108864"),
    ],
)
def test_bad_max_line_bytes_names_the_setting(home: Path, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match="RENKEI_MAX_LINE_BYTES/max_line_bytes") as raised:
        load_config({"RENKEI_HOME": str(home), "RENKEI_MAX_LINE_BYTES": value})
    assert message in str(raised.value)


@pytest.mark.parametrize("value", ["1024", "67108864"])
def test_max_line_bytes_bounds_are_inclusive(home: Path, value: str) -> None:
    config = load_config({"RENKEI_HOME": str(home), "RENKEI_MAX_LINE_BYTES": value})
    assert config.max_line_bytes == int(value)


def test_every_setting_has_an_env_var_and_help() -> None:
    envs = [s.env for s in SETTINGS]
    assert len(envs) == len(set(envs))
    for setting in SETTINGS:
        assert setting.env.startswith("RENKEI_")
        assert setting.help.strip()
