"""Regenerate docs/screenshots/*.png: run the browser tests (tests/browser, the same harness:
a real server on a fresh demo database, Debian's Chromium) with TIERDESK_SCREENSHOTS set, so
every test that shows a main page saves it. `make screenshots` runs this."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TIERDESK_SCREENSHOTS": str(OUT), "TIERDESK_REQUIRE_BROWSER": "1"}
    code = subprocess.call([sys.executable, "-m", "pytest", "-q", "tests/browser"], cwd=ROOT, env=env)
    shots = sorted(OUT.glob("*.png"))
    print(f"{len(shots)} screenshots in {OUT.relative_to(ROOT)}:")
    for shot in shots:
        print(f"  {shot.name}  {shot.stat().st_size // 1024} KiB")
    return code


if __name__ == "__main__":
    sys.exit(main())
