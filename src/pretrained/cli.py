"""The `pretrained` command: inspect, convert, diff and push checkpoints.

    pretrained inspect PATH_OR_REPO [--revision R] [--json]
    pretrained convert SRC DST [--to-backend torch|tf|flax] [--check] [--max-shard-size S]
    pretrained diff A B [--atol X] [--json]
    pretrained push DIR REPO_ID [--revision R] [--create-pr] [--dry-run]

Exit codes: 0 ok (and, for `diff` / `convert --check`, no differences), 1 differences found, 2 usage or input
error (one line on stderr naming the file or option; no traceback unless `PRETRAINED_DEBUG=1`).

Example:
    >>> from pretrained.cli import main
    >>> main(["diff", "/no/such/dir", "/no/such/other"])
    2
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ._cli_common import BACKENDS

EXIT_OK, EXIT_DIFFERENT, EXIT_ERROR = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `pretrained` command (one sub-parser per command)."""
    parser = argparse.ArgumentParser(
        prog="pretrained", description="Inspect, convert, compare and push pretrained checkpoints.",
        epilog="Exit codes: 0 ok, 1 differences found, 2 usage or input error.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    inspect = commands.add_parser("inspect", help="summarise a checkpoint from its headers")
    inspect.add_argument("source", metavar="PATH_OR_REPO")
    inspect.add_argument("--revision", help="branch, tag or commit of a Hub repo")
    inspect.add_argument("--json", action="store_true", help="print JSON for machines")

    convert = commands.add_parser("convert", help="re-save a checkpoint as canonical safetensors")
    convert.add_argument("source", metavar="SRC", help="directory, weights file or repo id (also .bin / .msgpack)")
    convert.add_argument("destination", metavar="DST", help="output directory")
    convert.add_argument("--revision", help="branch, tag or commit of a Hub repo")
    convert.add_argument("--to-backend", choices=BACKENDS, help="load into this backend's class and save from it")
    convert.add_argument("--max-shard-size", help="e.g. 5GB (default), 500MB")
    convert.add_argument("--check", action="store_true",
                         help="compare the outputs of SRC and DST (in two backends) on a dummy input")
    convert.add_argument("--check-backends", metavar="A,B", help="backends of --check (default torch,<to-backend>)")
    convert.add_argument("--atol", type=float, default=1e-4, help="--check tolerance (default 1e-4)")

    diff = commands.add_parser("diff", help="compare two checkpoints key by key")
    diff.add_argument("a", metavar="A")
    diff.add_argument("b", metavar="B")
    diff.add_argument("--revision", help="branch, tag or commit (for repo ids)")
    diff.add_argument("--atol", type=float, default=0.0, help="ignore value differences up to this (default 0)")
    diff.add_argument("--json", action="store_true", help="print JSON for machines")

    push = commands.add_parser("push", help="upload a checkpoint directory to the Hub in one commit")
    push.add_argument("directory", metavar="DIR")
    push.add_argument("repo_id", metavar="REPO_ID")
    push.add_argument("--revision", help="branch to push to (created from main if missing)")
    push.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    push.add_argument("--dry-run", action="store_true", help="print what would change; upload nothing")
    push.add_argument("--commit-message")
    push.add_argument("--private", action="store_true", default=None, help="create the repo as private")
    return parser


def _echo(text: str) -> None:
    print(text, flush=True)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "inspect":
        from ._cli_inspect import run_inspect

        return run_inspect(args.source, revision=args.revision, as_json=args.json, echo=_echo)
    if args.command == "diff":
        from ._cli_inspect import run_diff

        return run_diff(args.a, args.b, revision=args.revision, atol=args.atol, as_json=args.json, echo=_echo)
    if args.command == "convert":
        from ._cli_convert import run_convert

        return run_convert(args.source, args.destination, revision=args.revision, to_backend=args.to_backend,
                           run_check=args.check, check_with=args.check_backends, max_shard_size=args.max_shard_size,
                           atol=args.atol, echo=_echo)
    from ._cli_push import run_push

    return run_push(args.directory, args.repo_id, revision=args.revision, create_pr=args.create_pr,
                    dry_run=args.dry_run, commit_message=args.commit_message, private=args.private, echo=_echo)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: `sys.argv[1:]`); returns the exit code (see the module docstring)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        return _dispatch(args)
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


if __name__ == "__main__":  # pragma: no cover - `python -m pretrained.cli`
    sys.exit(main())
