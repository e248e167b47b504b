"""The apps run the runtime versions the host gated. ExecuTorch promises backward compatibility only (an
older program on a newer runtime), so an app runtime older than the executorch that wrote the .pte files
may refuse them; a .tflite that passed in the host's ai-edge-litert can still need an op version an older
LiteRT lacks. These fail when the apps' pins, pyproject.toml and the installed packages drift apart."""
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ANDROID = REPO / "mobile" / "android"
IOS = REPO / "mobile" / "ios"


def pyproject_pin(package: str) -> str:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(re.fullmatch(rf"{package}==([\d.]+)", d).group(1) for d in deps if d.startswith(f"{package}=="))


def installed(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{package} is not installed here")


def android_versions() -> dict:
    """The Android build's pins (its version catalog)."""
    return tomllib.loads((ANDROID / "gradle/libs.versions.toml").read_text())["versions"]


def ios_branch_version() -> str:
    gen = (IOS / "generate_xcodeproj.py").read_text()
    return re.search(r'^EXECUTORCH_BRANCH = "swiftpm-([\d.]+)"', gen, re.M).group(1)


def parts(v: str) -> tuple:
    return tuple(int(x) for x in v.split("."))


def test_android_runs_the_exporters_executorch():
    assert android_versions()["executorch"] == pyproject_pin("executorch") == installed("executorch")
    app = (ANDROID / "app/build.gradle").read_text()
    assert "implementation libs.executorch.android" in app


def test_android_runs_the_litert_the_host_gate_runs():
    """The AAR is the version of the host's ai-edge-litert, through LiteRT 2.x's CompiledModel API."""
    assert android_versions()["litert"] == pyproject_pin("ai-edge-litert") == installed("ai-edge-litert")
    catalog = tomllib.loads((ANDROID / "gradle/libs.versions.toml").read_text())
    assert catalog["libraries"]["litert"]["module"] == "com.google.ai.edge.litert:litert"
    assert "implementation libs.litert" in (ANDROID / "app/build.gradle").read_text()
    adapter = (ANDROID / "app/src/main/java/org/distilkit/qa/app/LiteRtQaModel.java").read_text()
    assert "CompiledModel.create(" in adapter and "org.tensorflow.lite" not in adapter


def test_ios_runs_the_exporters_executorch_release_line():
    """Same major.minor and not newer than the exporter; a different patch only with its reason and
    the host check of the exporter's programs in that runtime named in the README."""
    exporter, ios = pyproject_pin("executorch"), ios_branch_version()
    assert exporter == installed("executorch")
    assert parts(ios)[:2] == parts(exporter)[:2] and parts(ios) <= parts(exporter), (ios, exporter)
    swift = (IOS / "DistilKitQA/ExecuTorchQAModel.swift").read_text()
    assert re.search(r'let execuTorchVersion = "([\d.]+)"', swift).group(1) == ios
    pbxproj = (IOS / "DistilKitQA.xcodeproj/project.pbxproj").read_text()
    assert f'branch = "swiftpm-{ios}";' in pbxproj
    if ios != exporter:
        readme = (REPO / "mobile/README.md").read_text()
        section = readme.split("## Runtime versions", 1)[1].split("\n## ", 1)[0]
        assert f"swiftpm-{ios}" in section and f"executorch {exporter}" in section
        assert f"executorch=={ios}" in section and "pipeline/devices/runtime_check.py" in section


def test_the_readme_names_the_pins():
    readme = (REPO / "mobile/README.md").read_text()
    v = android_versions()
    assert f"org.pytorch:executorch-android:{v['executorch']}" in readme
    assert f"com.google.ai.edge.litert:litert:{v['litert']}" in readme
    assert f"swiftpm-{ios_branch_version()}" in readme
