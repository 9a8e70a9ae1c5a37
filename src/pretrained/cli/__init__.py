"""The `pretrained` command: inspect, convert, diff and push checkpoints.

    pretrained inspect PATH_OR_REPO [--revision R] [--json]
    pretrained convert SRC DST [--to-backend torch|tf|flax] [--check] [--max-shard-size S]
    pretrained diff A B [--atol X] [--json]
    pretrained push DIR REPO_ID [--revision R] [--create-pr] [--dry-run]

Exit codes: 0 ok (and, for `diff` / `convert --check`, no differences), 1 differences found, 2 usage or input
error (one line on stderr naming the file or option; no traceback unless `PRETRAINED_DEBUG=1`).

One module per command (`inspect`, `convert`, `diff`, `push`), each with its `HELP`, `add_arguments(parser)` and
`run(args, echo) -> exit code`; `_main` builds the parser from them and maps errors to exit codes; `_common` locates
a checkpoint (directory, file or repo id; canonical or legacy).

Example:
    >>> from pretrained.cli import main
    >>> main(["diff", "/no/such/dir", "/no/such/other"])
    2
"""

from ._main import EXIT_DIFFERENT, EXIT_ERROR, EXIT_OK, build_parser, main

__all__ = ["EXIT_DIFFERENT", "EXIT_ERROR", "EXIT_OK", "build_parser", "main"]
