"""Every command's --help ends with examples, and every example parses (none is run)."""

import argparse
import shlex

import pytest

from zcbench.cli import build_parser, main
from zcbench.cli.app import COMMANDS


def help_text(capsys, *argv: str) -> str:
    assert main([*argv, "--help"]) == 0
    return capsys.readouterr().out


def examples(text: str) -> list[list[str]]:
    """The commands under 'examples:' at the end of a help text, split as a shell would."""
    _, found, tail = text.partition("\nexamples:\n")
    assert found, "no examples section"
    lines = [line.strip() for line in tail.splitlines()]
    return [shlex.split(line) for line in lines if line and not line.startswith("#")]


def test_every_command_of_the_parser_has_a_module():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == list(COMMANDS)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_ends_with_examples_that_parse(capsys, name):
    text = help_text(capsys, name)
    assert text.rstrip().splitlines()[-1].strip().startswith("zcbench ")  # examples come last
    commands = examples(text)
    assert 1 <= len(commands) <= 2
    for argv in commands:
        assert argv[:2] == ["zcbench", name], argv
        try:
            args = build_parser().parse_args(argv[1:])
        except SystemExit as exc:  # argparse's way of saying the example does not parse
            pytest.fail(f"{shlex.join(argv)} does not parse ({exc})")
        assert args.func is COMMANDS[name].run


def test_top_level_help_points_to_the_examples(capsys):
    text = help_text(capsys)
    assert "'zcbench COMMAND --help' shows a command's options and examples" in text
    for name, module in COMMANDS.items():
        assert name in text and module.HELP.split()[0] in text
