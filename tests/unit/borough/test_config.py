"""Config errors name the file, the line and the field, and say what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from borough.config import load_config, resolve_paths
from borough.config.loader import validate_file
from borough.config.models import BotConfig
from borough.errors import ConfigError
from borough.testing import home_env, make_home


def load(home: Path):
    return load_config(resolve_paths(home_env(home)))


def write(home: Path, name: str, text: str) -> Path:
    path = home / "config" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_yaml_names_file_and_line(tmp_path: Path):
    path = write(tmp_path, "borough.yaml", "council: Kent\nledger:\n  url: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    assert err.value.file == path
    assert err.value.line == 4
    assert str(err.value).startswith(f"{path}:4: YAML syntax error")


def test_unknown_key_lists_the_allowed_keys(tmp_path: Path):
    path = write(tmp_path, "borough.yaml", "council: Kent\nledger:\n  lease_secs: 30\n")
    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    assert (err.value.file, err.value.line, err.value.field) == (path, 3, "ledger.lease_secs")
    allowed = "adopt_grace_seconds, heartbeat_seconds, lease_seconds, url"
    assert f"unknown key 'lease_secs'; allowed keys: {allowed}" in str(err.value)


def test_wrong_type_names_field_and_line(tmp_path: Path):
    write(tmp_path, "borough.yaml", "audit:\n  checkpoint_every: often\n")
    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    assert err.value.line == 2 and err.value.field == "audit.checkpoint_every"
    assert "valid integer" in err.value.message


def test_literal_error_says_what_is_allowed(tmp_path: Path):
    write(tmp_path, "borough.yaml", "logging:\n  level: LOUD\n")
    with pytest.raises(ConfigError, match="Input should be 'TRACE', 'DEBUG', 'INFO'"):
        load(tmp_path)


def test_duplicate_key_is_an_error(tmp_path: Path):
    write(tmp_path, "apps.yaml", "apps:\n  a:\n    kind: files\n  a:\n    kind: web\n")
    with pytest.raises(ConfigError, match="key 'a' appears twice") as err:
        load(tmp_path)
    assert err.value.line == 4


def test_passwords_in_apps_yaml_are_refused(tmp_path: Path):
    write(tmp_path, "apps.yaml", "apps:\n  casework:\n    kind: web\n    password: hunter22\n")
    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    assert err.value.line == 2 and err.value.field == "apps.casework"
    assert "'password' must not be written in config" in str(err.value)
    assert "hunter22" not in str(err.value)


def test_missing_required_key_points_at_its_parent(tmp_path: Path):
    path = write(tmp_path, "bots/x.yaml", "description: no name\ninputs: {}\n")
    with pytest.raises(ConfigError) as err:
        validate_file(BotConfig, path)
    assert err.value.field == "bot" and "required key 'bot' is missing" in str(err.value)


def test_all_problems_of_a_file_are_collected(tmp_path: Path):
    write(tmp_path, "borough.yaml", "ledger:\n  lease_seconds: 0\naudit:\n  retention_days: 0\n")
    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    assert err.value.line == 2
    assert [other.line for other in err.value.others] == [4]


def test_paths_come_from_yaml_unless_the_environment_overrides(tmp_path: Path, monkeypatch):
    write(tmp_path, "borough.yaml", "paths:\n  logs: custom-logs\n")
    monkeypatch.setenv("BOROUGH_HOME", str(tmp_path))
    for var in ("BOROUGH_LOGS_DIR", "BOROUGH_DATA_DIR", "BOROUGH_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    assert load_config().paths.logs == tmp_path / "custom-logs"
    assert load_config().paths.data == tmp_path / "var"
    monkeypatch.setenv("BOROUGH_LOGS_DIR", "/srv/borough-logs")
    assert load_config().paths.logs == Path("/srv/borough-logs")


def test_shipped_config_is_valid(tmp_path: Path, monkeypatch):
    from borough.config.check import check_all

    root = Path(__file__).resolve().parents[3]
    home = make_home(tmp_path, config=root / "config")
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    problems, checked = check_all()
    assert problems == []
    assert any(p.name == "apps.yaml" for p in checked)


def test_a_bot_config_is_read_once_and_again_only_after_a_reload(tmp_path: Path):
    write(tmp_path, "apps.yaml", "apps:\n  target:\n    kind: files\n    path: out.xlsx\n")
    bot = write(tmp_path, "bots/b.yaml", "bot: b\napps: [target]\nmax_run_minutes: 5\n")
    config = load(tmp_path)
    assert config.bot_config("b").max_run_minutes == 5
    bot.write_text("bot: b\napps: [target]\nmax_run_minutes: 9\n", encoding="utf-8")
    assert config.bot_config("b").max_run_minutes == 5, "one read a process"
    write(tmp_path, "apps.yaml", "apps:\n  target:\n    kind: files\n    max_sessions: 1\n")
    config.reload()
    assert config.bot_config("b").max_run_minutes == 9
    assert config.apps["target"].max_sessions == 1


def test_a_broken_bot_config_is_reported_at_every_use_until_fixed(tmp_path: Path):
    bot = write(tmp_path, "bots/b.yaml", "bot: b\nmax_run_minutes: soon\n")
    config = load(tmp_path)
    for _ in range(2):
        with pytest.raises(ConfigError, match="max_run_minutes"):
            config.bot_config("b")
    bot.write_text("bot: b\nmax_run_minutes: 3\n", encoding="utf-8")
    assert config.bot_config("b").max_run_minutes == 3
