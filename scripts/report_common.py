"""What scripts/report and its table modules share: the paths and the one way to run."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "report"
QUICK = "--quick" in sys.argv


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout
