"""The `pretrained` entry point: the parser (a sub-parser per command module) and the exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import convert, diff, inspect, push

EXIT_OK, EXIT_DIFFERENT, EXIT_ERROR = 0, 1, 2

# command name -> its module (HELP, add_arguments(parser), run(args, echo) -> exit code)
COMMANDS = {"inspect": inspect, "convert": convert, "diff": diff, "push": push}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `pretrained` command (one sub-parser per command)."""
    parser = argparse.ArgumentParser(
        prog="pretrained", description="Inspect, convert, compare and push pretrained checkpoints.",
        epilog="Exit codes: 0 ok, 1 differences found, 2 usage or input error.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        command.add_arguments(commands.add_parser(name, help=command.HELP))
    return parser


def _echo(text: str) -> None:
    print(text, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: `sys.argv[1:]`); returns the exit code (see `pretrained.cli`)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        return COMMANDS[args.command].run(args, _echo)
    except KeyboardInterrupt:
        print("pretrained: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `pretrained inspect ... | head`
        return EXIT_OK
    except Exception as exc:
        if os.environ.get("PRETRAINED_DEBUG"):
            raise
        print(f"pretrained {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, FileNotFoundError) and exc.filename:
        text = f"{exc.filename}: no such file or directory"
    return text if len(text) < 2000 else text[:1997] + "..."

