"""`pretrained diff`: exit code 0 (same), 1 (different), 2 (input or usage error, one line on stderr)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.xdist_group("cli")


def test_diff_exit_codes(run_cli, checkpoints) -> None:
    assert run_cli("diff", str(checkpoints["safe"]), str(checkpoints["safe"])).returncode == 0
    done = run_cli("diff", str(checkpoints["safe"]), str(checkpoints["other"]), "--json", check_rc=1)
    result = json.loads(done.stdout)
    assert result["values"] and not result["only_in_a"] and not result["shape_or_dtype"]
    missing = run_cli("diff", str(checkpoints["safe"]), str(checkpoints["root"] / "nope"), check_rc=2)
    assert "nope" in missing.stderr and "Traceback" not in missing.stderr and len(missing.stderr.splitlines()) == 1
    assert run_cli("convert", str(checkpoints["safe"]), check_rc=2).returncode == 2  # usage error
