"""The `cobranca` console command without the sandbox extra: one line saying what to install, exit 2."""

from __future__ import annotations

import sys

import pytest

from infra.local import cli


@pytest.mark.parametrize("command", [["demo"], ["local", "--port", "0"]])
def test_without_moto_the_sandbox_commands_say_which_extra_to_install(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)  # import machinery: "moto is not installed"

    assert cli.main(command) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert f"cobranca {command[0]} needs the sandbox extra (moto not installed)" in err
    assert 'pip install -e ".[sandbox]"' in err and "make demo" in err


def test_chat_needs_no_sandbox_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)

    # No sandbox listens on this port: chat gets as far as trying to reach it.
    assert cli.main(["chat", "5511987650000", "--url", "http://127.0.0.1:9"]) == 1

    assert "no sandbox at http://127.0.0.1:9" in capsys.readouterr().err
