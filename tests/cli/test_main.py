"""The entry point: `python -m pretrained.cli` is the console script; `main(argv)` returns exit codes (no torch
needed)."""

from __future__ import annotations

import subprocess
import sys

from pretrained.cli import EXIT_ERROR, EXIT_OK, build_parser, main


def test_python_dash_m_lists_every_command() -> None:
    done = subprocess.run([sys.executable, "-m", "pretrained.cli", "--help"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == EXIT_OK, done.stderr
    for command in ("inspect", "convert", "diff", "push"):
        assert command in done.stdout


def test_main_returns_exit_codes(capsys) -> None:
    assert main(["diff", "/no/such/dir", "/no/such/other"]) == EXIT_ERROR
    assert capsys.readouterr().err.strip() == "pretrained diff: error: /no/such/dir: no such file or directory"
    assert main(["no-such-command"]) == EXIT_ERROR  # argparse usage error
    assert main(["push", "--help"]) == EXIT_OK


def test_each_command_parses_its_own_options() -> None:
    args = build_parser().parse_args(["convert", "a", "b", "--to-backend", "flax", "--check", "--atol", "0.5"])
    assert (args.command, args.to_backend, args.check, args.atol, args.check_backends) == ("convert", "flax", True,
                                                                                          0.5, None)
    args = build_parser().parse_args(["push", "dir", "me/repo", "--dry-run"])
    assert (args.dry_run, args.private, args.revision) == (True, None, None)
