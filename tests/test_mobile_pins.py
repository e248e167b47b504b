"""The apps' ExecuTorch runtimes follow the exporter: ExecuTorch promises backward compatibility
only (an older program on a newer runtime), so an app runtime older than the executorch that
wrote the .pte files may refuse them. This fails when pyproject.toml and the apps drift apart."""
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANDROID = REPO / "mobile" / "android"
IOS = REPO / "mobile" / "ios"


def exporter_version() -> str:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(re.fullmatch(r"executorch==([\d.]+)", d).group(1) for d in deps if d.startswith("executorch=="))


def android_version() -> str:
    return re.search(r"^executorchVersion=([\d.]+)$", (ANDROID / "gradle.properties").read_text(), re.M).group(1)


def ios_branch_version() -> str:
    gen = (IOS / "generate_xcodeproj.py").read_text()
    return re.search(r'^EXECUTORCH_BRANCH = "swiftpm-([\d.]+)"', gen, re.M).group(1)


def parts(v: str) -> tuple:
    return tuple(int(x) for x in v.split("."))


def test_android_runs_the_exporters_executorch():
    assert android_version() == exporter_version()
    assert 'org.pytorch:executorch-android:${project.executorchVersion}' in (ANDROID / "app/build.gradle").read_text()


def test_ios_runs_the_exporters_executorch_release_line():
    """Same major.minor and not newer than the exporter; a different patch only with its reason in the README."""
    exporter, ios = exporter_version(), ios_branch_version()
    assert parts(ios)[:2] == parts(exporter)[:2] and parts(ios) <= parts(exporter), (ios, exporter)
    swift = (IOS / "DistilKitQA/ExecuTorchQAModel.swift").read_text()
    assert re.search(r'let execuTorchVersion = "([\d.]+)"', swift).group(1) == ios
    pbxproj = (IOS / "DistilKitQA.xcodeproj/project.pbxproj").read_text()
    assert f'branch = "swiftpm-{ios}";' in pbxproj
    if ios != exporter:
        readme = (REPO / "mobile/README.md").read_text()
        section = readme.split("## Runtime versions", 1)[1].split("\n## ", 1)[0]
        assert f"swiftpm-{ios}" in section and f"executorch {exporter}" in section


def test_the_readme_names_the_pins():
    readme = (REPO / "mobile/README.md").read_text()
    assert f"org.pytorch:executorch-android:{android_version()}" in readme
    assert f"swiftpm-{ios_branch_version()}" in readme
