"""The iOS app target as far as Linux can check it: its non-UI Swift files (Core ML and ExecuTorch
adapters, benchmark mode) type-check with swiftc against stub modules named CoreML and ExecuTorch
(tests/ios_stubs) and the real QACore; the Xcode project builds the app testable in the
configuration the tests use, and gives the test target the package modules the app imports."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pbxproj import XcodeProject

from test_mobile_ports import require

REPO = Path(__file__).resolve().parent.parent
IOS = REPO / "mobile" / "ios"
STUBS = Path(__file__).resolve().parent / "ios_stubs"
UI_MODULES = {"SwiftUI", "UIKit"}
# Apple-only beyond UI: Mach task info, which Linux's Foundation does not have. Kept to the probe.
APPLE_ONLY = {"AppleDevice.swift"}


def imports(path: Path) -> set:
    return set(re.findall(r"^import\s+(\w+)", path.read_text(), re.M))


def non_ui_sources() -> list:
    return sorted(p for p in (IOS / "DistilKitQA").glob("*.swift")
                  if not imports(p) & UI_MODULES and p.name not in APPLE_ONLY)


# On a Mac the stub modules would stand beside Apple's real CoreML; these checks are for Linux.
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="stub modules shadow nothing only on Linux")


def swiftc(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(["nice", "-n", "10", "swiftc", *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


@linux_only
def test_ios_non_ui_sources_typecheck_against_the_coreml_and_executorch_stubs(tmp_path):
    require(bool(shutil.which("swiftc")), "the Swift toolchain")
    sources = non_ui_sources()
    names = {p.name for p in sources}
    assert {"CoreMLQAModel.swift", "ExecuTorchQAModel.swift", "BenchmarkMode.swift", "Backends.swift"} <= names
    for p in sources:
        assert imports(p) <= {"Foundation", "QACore", "CoreML", "ExecuTorch"}, p.name
    for module, files in (("QACore", sorted((IOS / "QACore/Sources/QACore").glob("*.swift"))),
                          ("CoreML", [STUBS / "CoreML.swift"]), ("ExecuTorch", [STUBS / "ExecuTorch.swift"])):
        res = swiftc("-emit-module", "-parse-as-library", "-swift-version", "5", "-module-name", module,
                     "-emit-module-path", tmp_path / f"{module}.swiftmodule", *files, cwd=tmp_path)
        assert res.returncode == 0, f"{module}: {res.stderr}"
    # Warnings are errors: the stubs mark what Apple deprecated (the synchronous compileModel(at:)). Swift 6's
    # language mode too: its data-race checks turn shared mutable state into errors.
    for version in ("5", "6"):
        res = swiftc("-typecheck", "-parse-as-library", "-swift-version", version, "-warnings-as-errors",
                     "-module-name", "DistilKitQA", "-I", tmp_path, *sources, cwd=tmp_path)
        assert res.returncode == 0, f"Swift {version} language mode: {res.stderr}"


@linux_only
def test_benchmark_mode_runs_here_with_nothing_staged(tmp_path):
    """BenchmarkMode built and run on Linux (stub modules linked, no model): the idle timer is switched
    off for the run and back after, an earlier results file of the same run id is removed, the
    missing models end in bench-ID.error.txt, and a run id is claimed only once."""
    require(bool(shutil.which("swiftc")), "the Swift toolchain")
    for module, files in (("QACore", sorted((IOS / "QACore/Sources/QACore").glob("*.swift"))),
                          ("CoreML", [STUBS / "CoreML.swift"]), ("ExecuTorch", [STUBS / "ExecuTorch.swift"])):
        res = swiftc("-emit-library", "-emit-module", "-parse-as-library", "-swift-version", "5", "-module-name", module,
                     "-emit-module-path", tmp_path / f"{module}.swiftmodule", "-o", tmp_path / f"lib{module}.so", *files,
                     cwd=tmp_path)
        assert res.returncode == 0, f"{module}: {res.stderr}"
    check = Path(__file__).resolve().parent / "ios_checks" / "BenchmarkModeCheck.swift"
    res = swiftc("-parse-as-library", "-swift-version", "5", "-module-name", "DistilKitQA", "-I", tmp_path, "-L", tmp_path,
                 "-lQACore", "-lCoreML", "-lExecuTorch", *non_ui_sources(), check, "-o", tmp_path / "check", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    env = {"HOME": str(tmp_path / "home"), "LD_LIBRARY_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    res = subprocess.run([tmp_path / "check"], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stdout + res.stderr


def test_the_swift_stubs_name_their_source_and_version():
    from test_mobile_pins import ios_branch_version
    for name in ("CoreML.swift", "ExecuTorch.swift"):
        head = (STUBS / name).read_text().split("import Foundation")[0]
        assert head.startswith("// Signature stub") and "https://" in head, name
    assert "iOS 17 SDK" in (STUBS / "CoreML.swift").read_text()
    et = (STUBS / "ExecuTorch.swift").read_text()
    assert f"package {ios_branch_version()}" in et and f"swiftpm-{ios_branch_version()}" in et


@pytest.fixture(scope="module")
def project():
    return XcodeProject.load(str(IOS / "DistilKitQA.xcodeproj" / "project.pbxproj"))


def target(project, name):
    return next(t for t in project.objects.get_targets() if t.name == name)


def ident(x) -> str:
    return str(x).split()[0]


def settings(project, owner, config: str) -> dict:
    """Build settings of a target (or the project, owner=None) for one configuration."""
    objs = project.objects
    lst = objs[ident(project.rootObject)].buildConfigurationList if owner is None else owner.buildConfigurationList
    for c in objs[ident(lst)].buildConfigurations:
        cfg = objs[ident(c)]
        if cfg.name == config:
            bs = cfg.buildSettings
            return {k: bs[k] for k in bs.get_keys()}
    raise KeyError(config)


def test_the_configuration_the_tests_build_makes_the_app_testable(project):
    """@testable import needs ENABLE_TESTABILITY in the configuration that the scheme's test action
    and device_ios.py --xctest build (Release), or Xcode stops: module was not compiled for testing."""
    scheme = (IOS / "DistilKitQA.xcodeproj/xcshareddata/xcschemes/DistilKitQA.xcscheme").read_text()
    test_config = re.search(r'<TestAction buildConfiguration = "(\w+)"', scheme).group(1)
    from pipeline.devices import device_ios
    assert device_ios.CONFIGURATION == test_config
    testable = any("@testable import DistilKitQA" in p.read_text() for p in (IOS / "DistilKitQATests").glob("*.swift"))
    assert testable
    app = target(project, "DistilKitQA")
    effective = {**settings(project, None, test_config), **settings(project, app, test_config)}
    assert effective["ENABLE_TESTABILITY"] == "YES"


def test_the_test_target_gets_the_modules_the_app_imports_without_linking_them_twice(project):
    objs = project.objects
    app, tests = target(project, "DistilKitQA"), target(project, "DistilKitQATests")

    def products(t):
        return {objs[ident(d)].productName for d in (getattr(t, "packageProductDependencies", None) or [])}
    app_modules = set().union(*(imports(p) for p in (IOS / "DistilKitQA").glob("*.swift")))
    # The Swift modules that the app's imports come from, by package product.
    assert {"QACore", "ExecuTorch"} <= app_modules
    assert {"QACore", "executorch"} <= products(tests) <= products(app)
    linked = [objs[ident(f)] for ph in tests.buildPhases if objs[ident(ph)].isa == "PBXFrameworksBuildPhase"
              for f in objs[ident(ph)].files]
    assert linked == []
    for cfg in ("Debug", "Release"):
        assert settings(project, tests, cfg)["BUNDLE_LOADER"] == "$(TEST_HOST)"


def test_the_bundle_id_is_a_setting_the_driver_can_replace(project):
    app, tests = target(project, "DistilKitQA"), target(project, "DistilKitQATests")
    for cfg in ("Debug", "Release"):
        assert settings(project, app, cfg)["PRODUCT_BUNDLE_IDENTIFIER"] == "$(DISTILKIT_BUNDLE_ID)"
        assert settings(project, tests, cfg)["PRODUCT_BUNDLE_IDENTIFIER"] == "$(DISTILKIT_BUNDLE_ID).tests"
        assert settings(project, None, cfg)["DISTILKIT_BUNDLE_ID"]


def test_simulator_builds_leave_out_the_architecture_executorch_lacks(project):
    """ExecuTorch's xcframeworks are arm64 only and Release builds every architecture (ONLY_ACTIVE_ARCH NO):
    without the exclusion a Simulator build on an Intel or Rosetta host tries x86_64 and fails to link."""
    for config in ("Debug", "Release"):
        bs = settings(project, None, config)
        assert bs.get("EXCLUDED_ARCHS[sdk=iphonesimulator*]") == "x86_64", config
    assert settings(project, None, "Release")["ONLY_ACTIVE_ARCH"] == "NO"


def test_the_app_declares_its_orientations_for_iphone_and_ipad(project):
    app = target(project, "DistilKitQA")
    for config in ("Debug", "Release"):
        bs = settings(project, app, config)
        assert bs["TARGETED_DEVICE_FAMILY"] == "1,2"
        ipad = set(bs["INFOPLIST_KEY_UISupportedInterfaceOrientations_iPad"].split())
        assert ipad == {"UIInterfaceOrientationPortrait", "UIInterfaceOrientationPortraitUpsideDown",
                        "UIInterfaceOrientationLandscapeLeft", "UIInterfaceOrientationLandscapeRight"}
        assert "UIInterfaceOrientationPortrait" in bs["INFOPLIST_KEY_UISupportedInterfaceOrientations_iPhone"].split()
