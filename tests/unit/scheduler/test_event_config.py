"""triggers: in schedules.yaml — every mistake named by file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from borough.config.loader import load_config
from borough.config.paths import resolve_paths
from borough.errors import ConfigError
from borough.testing import home_env
from scheduler.check import check_schedules
from scheduler.config import load_schedules
from tests.support.events import events_home


def config_of(tmp_path: Path, text: str):
    home = events_home(tmp_path, {}, bots={"counting-bot": {}, "sleepy-a": {}})
    (home / "config/schedules.yaml").write_text(text, encoding="utf-8")
    return load_config(resolve_paths(home_env(home)))


def error_of(tmp_path: Path, text: str, *, check: bool = False) -> ConfigError:
    config = config_of(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        check_schedules(config) if check else load_schedules(config)
    return caught.value


def test_a_valid_trigger_section_loads_beside_the_schedules(tmp_path: Path):
    config = config_of(
        tmp_path,
        """
schedules:
  morning: {bot: sleepy-a, daily: "09:00"}
triggers:
  inbox:
    bot: counting-bot
    file: {folder: var/inbox, pattern: "*.csv", marker: .done}
    calendar: england-and-wales
    hours: {from: "08:00", to: "18:00"}
  backlog:
    bot: counting-bot
    queue: {pending: 100, oldest_minutes: 30}
  chain:
    bot: sleepy-a
    after: {bot: counting-bot, succeeded_only: true}
    enabled: false
""",
    )
    schedules = load_schedules(config)
    assert set(schedules.triggers) == {"inbox", "backlog", "chain"}
    assert set(schedules.active_triggers) == {"inbox", "backlog"}
    assert [t.kind for t in schedules.triggers.values()] == ["file", "queue", "after"]
    assert schedules.triggers["backlog"].debounce == 30
    assert schedules.triggers["chain"].debounce == 0
    assert check_schedules(config) == [schedules.file]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "triggers:\n  x:\n    bot: counting-bot\n    queue: {pending: 5}\n"
            "    after: {bot: sleepy-a}\n",
            2,
            "exactly one of file, mailbox, queue, after",
        ),
        ("triggers:\n  x:\n    bot: counting-bot\n    queue: {}\n", 4, "pending, oldest_minutes"),
        (
            "triggers:\n  x:\n    bot: counting-bot\n    file: {folder: in}\n"
            "    calendar: nowhere\n",
            5,
            "unknown calendar 'nowhere'",
        ),
        (
            "schedules:\n  x: {bot: sleepy-a, daily: '09:00'}\ntriggers:\n  x:\n"
            "    bot: counting-bot\n    queue: {pending: 1}\n",
            4,
            "the name of a schedule",
        ),
        (
            "triggers:\n  x:\n    bot: counting-bot\n    file: {folder: in}\n"
            "    hours: {from: 8:00, to: '18:00'}\n",
            5,
            "write the time in quotes",
        ),
        (
            "triggers:\n  x:\n    bot: counting-bot\n    file: {folder: in}\n"
            "    hours: {from: '18:00', to: '08:00'}\n",
            5,
            "must be after 'from'",
        ),
        ("triggers:\n  x:\n    bot: sleepy-a\n    after: {bot: sleepy-a}\n", 2, "its own runs"),
        (
            "triggers:\n  x:\n    bot: counting-bot\n"
            "    mailbox: {app: inbox, processed: Done, rejected: Done}\n",
            4,
            "processed and rejected must be different folders",
        ),
        (
            "triggers:\n  x:\n    bot: counting-bot\n"
            "    mailbox: {app: inbox, folder: 'Caf\u00e9'}\n",
            4,
            "a folder name in plain ASCII",
        ),
        (
            "triggers:\n  x:\n    bot: counting-bot\n    file: {folder: in, pattern: a/*.csv}\n",
            4,
            "no '/'",
        ),
    ],
)
def test_trigger_mistakes_name_the_line(tmp_path: Path, text: str, line: int, words: str):
    error = error_of(tmp_path, text)
    assert words in str(error)
    assert error.line == line, str(error)


def test_config_check_names_unknown_bots_and_inputs_by_line(tmp_path: Path):
    error = error_of(
        tmp_path,
        """triggers:
  chain:
    bot: counting-bot
    after: {bot: no-such-bot}
  files:
    bot: sleepy-a
    file: {folder: in}
  named:
    bot: counting-bot
    file: {folder: in, input: xlsx}
""",
        check=True,
    )
    found = [error, *error.others]
    assert [(e.field, e.line) for e in found] == [
        ("triggers.chain.after.bot", 4),
        ("triggers.files.file.input", 7),
        ("triggers.named.file.input", 10),
    ]
    assert "no-such-bot" in str(found[0])
    assert "say which input of bot 'sleepy-a'" in str(found[1])
    assert "has no input 'xlsx'; it reads: csv" in str(found[2])


def test_config_check_names_a_mailbox_that_is_not_a_mail_app(tmp_path: Path):
    home = events_home(
        tmp_path,
        {},
        bots={"counting-bot": {}, "mail-bot": {}},
        apps={
            "counting": {"kind": "borough.testing:CountingTarget", "path": "t.sqlite"},
            "inbox": {"kind": "mail", "smtp": {"host": "localhost"}, "username": "u"},
            "forms": {"kind": "mail", "imap": {"host": "localhost"}, "username": "u"},
        },
    )
    (home / "config/schedules.yaml").write_text(
        """triggers:
  wrong-kind:
    bot: mail-bot
    mailbox: {app: counting}
  no-imap:
    bot: mail-bot
    mailbox: {app: inbox}
  unknown:
    bot: mail-bot
    mailbox: {app: nowhere}
  no-input:
    bot: counting-bot
    mailbox: {app: forms, input: message}
""",
        encoding="utf-8",
    )
    config = load_config(resolve_paths(home_env(home)))
    with pytest.raises(ConfigError) as caught:
        check_schedules(config)
    found = [caught.value, *caught.value.others]
    assert [(e.field, e.line) for e in found] == [
        ("triggers.wrong-kind.mailbox.app", 4),
        ("triggers.no-imap.mailbox.app", 7),
        ("triggers.unknown.mailbox.app", 10),
        ("triggers.no-input.mailbox.input", 13),
    ]
    assert "a mailbox is an app of kind: mail" in str(found[0])
    assert "no imap: section" in str(found[1])
    assert "no app named 'nowhere'" in str(found[2])
    assert "has no input 'message'; it reads: csv" in str(found[3])
