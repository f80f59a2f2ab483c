"""schedules.yaml: every mistake is reported with its file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from borough.config.loader import load_config
from borough.config.paths import resolve_paths
from borough.errors import ConfigError
from borough.testing import home_env
from scheduler.check import check_schedules
from scheduler.config import load_schedules
from tests.support.scheduling import scheduler_home


def config_for(home: Path):
    return load_config(resolve_paths(home_env(home)))


def load_text(tmp_path: Path, text: str):
    home = scheduler_home(tmp_path, {})
    (home / "config/schedules.yaml").write_text(text, encoding="utf-8")
    return load_schedules(config_for(home))


def error_of(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, text)
    return caught.value


def test_a_valid_file_builds_calendars_and_triggers(tmp_path: Path):
    schedules = load_text(
        tmp_path,
        """
calendars:
  council:
    region: england-and-wales
    closures: [2026-06-01, {from: 2026-08-10, to: 2026-08-11}]
    annual_closures: [{from: "12-29", to: "12-31"}]
schedules:
  morning:
    bot: sleepy-a
    daily: "09:00"
    calendar: council
  month-end:
    bot: sleepy-a
    monthly: {working_day: -1, at: "16:00"}
    calendar: scotland
  often:
    bot: sleepy-b
    interval: {minutes: 15}
    enabled: false
""",
    )
    council = schedules.calendars["council"]
    assert len(council.closures) == 3 and council.annual
    assert schedules.trigger("morning").describe() == "09:00 on working days (council)"
    assert set(schedules.active) == {"morning", "month-end"}


def test_unquoted_time_is_explained(tmp_path: Path):
    error = error_of(tmp_path, "schedules:\n  a:\n    bot: sleepy-a\n    daily: 7:30\n")
    assert error.line == 4 and error.field == "schedules.a.daily"
    assert 'write the time in quotes, e.g. "07:30"' in error.message


def test_exactly_one_when(tmp_path: Path):
    error = error_of(
        tmp_path, "schedules:\n  a:\n    bot: sleepy-a\n    daily: '09:00'\n    cron: '0 9 * * *'\n"
    )
    assert error.line == 2 and "give exactly one of cron, interval, daily" in error.message
    assert "found: cron, daily" in error.message


def test_cron_weekday_numbers_are_refused(tmp_path: Path):
    error = error_of(tmp_path, "schedules:\n  a:\n    bot: sleepy-a\n    cron: '0 9 * * 1-5'\n")
    assert error.line == 4 and "write weekdays by name" in error.message
    error = error_of(tmp_path, "schedules:\n  a:\n    bot: sleepy-a\n    cron: '0 25 * * *'\n")
    assert "not a valid cron expression" in error.message


def test_working_day_rules_need_a_calendar_and_calendars_must_exist(tmp_path: Path):
    error = error_of(
        tmp_path,
        "schedules:\n  a:\n    bot: sleepy-a\n    monthly: {working_day: 2, at: '08:00'}\n",
    )
    assert "needs a calendar" in error.message
    error = error_of(
        tmp_path,
        "schedules:\n  a:\n    bot: sleepy-a\n    daily: '08:00'\n    calendar: wales-ish\n",
    )
    assert error.line == 5 and error.field == "schedules.a.calendar"
    assert "unknown calendar 'wales-ish'; known: england-and-wales" in error.message


def test_unknown_keys_and_bad_names(tmp_path: Path):
    error = error_of(
        tmp_path, "schedules:\n  a:\n    bot: sleepy-a\n    daily: '08:00'\n    when: x\n"
    )
    assert error.line == 5 and "unknown key 'when'" in error.message
    error = error_of(tmp_path, "schedules:\n  Bad Name:\n    bot: sleepy-a\n    daily: '08:00'\n")
    assert error.line == 2 and "schedule name 'Bad Name'" in error.message


def test_notification_channels_keep_credentials_out(tmp_path: Path):
    error = error_of(tmp_path, "notify:\n  webhook:\n    timeout_seconds: 3\n")
    assert error.line == 2 and "give url or url_secret" in error.message
    error = error_of(
        tmp_path,
        "notify:\n  email:\n    host: h\n    sender: a@b\n    to: [c@d]\n    password: hunter2\n",
    )
    assert error.line == 6 and "unknown key 'password'" in error.message
    assert "password_secret" in error.message  # the allowed keys are listed


def test_check_names_the_line_of_an_unknown_bot_and_input(tmp_path: Path):
    home = scheduler_home(
        tmp_path,
        {
            "a": {"bot": "no-such-bot", "daily": "08:00"},
            "b": {"bot": "sleepy-a", "daily": "08:00", "inputs": {"csv": "x.csv"}},
        },
        bots={"sleepy-a": {}},
    )
    bot_file = home / "config/bots/sleepy-a.yaml"
    bot_file.write_text(bot_file.read_text() + "inputs: {file: in.csv}\n")
    with pytest.raises(ConfigError) as caught:
        check_schedules(config_for(home))
    first, others = caught.value, caught.value.others
    assert first.field == "schedules.a.bot" and "no bot named 'no-such-bot'" in first.message
    assert [o.field for o in others] == ["schedules.b.inputs"]
    assert "has no input 'csv'; it reads: file" in others[0].message
    assert first.line is not None and others[0].line is not None


def test_the_shipped_schedules_file_is_valid():
    root = Path(__file__).resolve().parents[3]
    config = load_config(resolve_paths({"BOROUGH_HOME": str(root)}))
    schedules = load_schedules(config)
    assert schedules.active, "config/schedules.yaml ships schedules"
    assert check_schedules(config) == [root / "config/schedules.yaml"]


def test_runs_and_worker_timings_are_checked(tmp_path: Path):
    error = error_of(
        tmp_path, "schedules:\n  a:\n    bot: sleepy-a\n    daily: '09:00'\n    runs: 0\n"
    )
    assert error.line == 5 and error.field == "schedules.a.runs"
    text = "scheduler:\n  stalled_job_seconds: 10\n  worker_heartbeat_seconds: 6\nschedules: {}\n"
    error = error_of(tmp_path, text)
    assert "must be at most half of stalled_job_seconds" in error.message
