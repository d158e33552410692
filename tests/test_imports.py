"""The import contracts of ``.importlinter`` hold (function-level imports
count): the ground floors import nothing above them, and nothing below the
top imports the command line, the experiments or promotion."""

import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO


def test_the_import_contracts_hold():
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(linter), "--no-cache"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
