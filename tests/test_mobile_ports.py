"""The Java and Swift ports' own test suites (golden fixtures + app logic), run from pytest."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def require(available: bool, what: str):
    """Skip where the toolchain is absent, except in CI (DISTILKIT_REQUIRE_TOOLCHAINS), where that fails."""
    if available:
        return
    if os.environ.get("DISTILKIT_REQUIRE_TOOLCHAINS"):
        pytest.fail(f"{what} is required here (DISTILKIT_REQUIRE_TOOLCHAINS is set)")
    pytest.skip(f"needs {what}")


def summary(out: str):
    m = re.findall(r"^(\d+) passed, (\d+) failed$", out, re.M)
    return tuple(map(int, m[-1])) if m else None


def test_java_core_suite():
    require(bool(shutil.which("javac")) and Path("/usr/share/java/junit4.jar").is_file(), "javac and Debian's junit4")
    res = subprocess.run(["nice", "-n", "10", str(REPO / "mobile/android/qacore/run_tests.sh")],
                         capture_output=True, text=True, timeout=600)
    counts = summary(res.stdout)
    assert res.returncode == 0 and counts and counts[1] == 0 and counts[0] >= 13, res.stdout[-3000:] + res.stderr[-2000:]


def test_swift_core_suite():
    require(bool(shutil.which("swift")), "the Swift toolchain")
    res = subprocess.run(["nice", "-n", "10", "swift", "test"], cwd=REPO / "mobile/ios/QACore",
                         capture_output=True, text=True, timeout=900)
    out = res.stdout + res.stderr
    totals = re.findall(r"Executed (\d+) tests?, with (\d+) failures?", out)  # the last line is all suites
    assert res.returncode == 0 and totals, out[-4000:]
    run, failed = map(int, totals[-1])
    assert failed == 0 and run >= 13, out[-4000:]
