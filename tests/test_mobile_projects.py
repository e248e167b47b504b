"""The app projects as far as Linux can check them: the Xcode project loads with pbxproj and every
reference resolves; the Gradle files and manifest declare the modules, SDK levels and runtimes."""
import json
import re
import shutil
import struct
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pbxproj import XcodeProject

from test_mobile_ports import require

REPO = Path(__file__).resolve().parent.parent
IOS = REPO / "mobile" / "ios"
ANDROID = REPO / "mobile" / "android"
PBXPROJ = IOS / "DistilKitQA.xcodeproj" / "project.pbxproj"


def ident(x) -> str:
    return str(x).split()[0]


@pytest.fixture(scope="module")
def project():
    return XcodeProject.load(str(PBXPROJ))


def test_xcode_project_is_what_the_generator_writes():
    res = subprocess.run([sys.executable, str(IOS / "generate_xcodeproj.py"), "--check"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_build_file_and_dependency_resolves(project):
    objs = project.objects
    for bf in objs.get_objects_in_section("PBXBuildFile"):
        refs = [bf[k] for k in ("fileRef", "productRef") if k in bf]
        assert len(refs) == 1 and ident(refs[0]) in objs, bf.get_id()
    for target in objs.get_targets():
        for phase in target.buildPhases:
            assert ident(phase) in objs
            for f in objs[ident(phase)].files:
                assert ident(f) in objs
        for dep in getattr(target, "packageProductDependencies", None) or []:
            product = objs[ident(dep)]
            assert product.isa == "XCSwiftPackageProductDependency" and ident(product.package) in objs
        for dep in target.dependencies:
            assert ident(objs[ident(dep)].target) in objs
        assert ident(target.buildConfigurationList) in objs


def file_paths(project):
    """Every <group>-relative file reference, resolved through its groups to a path on disk."""
    objs = project.objects
    out = []

    def walk(group_id, base: Path):
        group = objs[group_id]
        here = base / group.path if "path" in group else base
        for child in group.children:
            obj = objs[ident(child)]
            if obj.isa == "PBXGroup":
                walk(ident(child), here)
            elif obj.isa == "PBXFileReference" and obj.sourceTree == "<group>":
                out.append(here / obj.path)
    walk(ident(objs[project.rootObject].mainGroup), IOS)
    return out


def test_every_referenced_file_exists_and_every_swift_file_is_referenced(project):
    paths = file_paths(project)
    assert paths, "no file references"
    missing = [str(p.relative_to(IOS)) for p in paths if not p.exists()]
    assert missing == []
    on_disk = {p for d in ("DistilKitQA", "DistilKitQATests") for p in (IOS / d).glob("*.swift")}
    assert on_disk == {p for p in paths if p.suffix == ".swift"}


def test_packages_ios_version_and_scheme(project):
    objs = project.objects
    local = objs.get_objects_in_section("XCLocalSwiftPackageReference")
    assert [(IOS / p.relativePath / "Package.swift").is_file() for p in local] == [True]
    remote = objs.get_objects_in_section("XCRemoteSwiftPackageReference")
    assert remote[0].repositoryURL == "https://github.com/pytorch/executorch"
    branch = remote[0].requirement["branch"]
    version = re.search(r'execuTorchVersion = "([^"]+)"', (IOS / "DistilKitQA/ExecuTorchQAModel.swift").read_text())
    assert branch == f"swiftpm-{version.group(1)}"
    for cfg in objs.get_objects_in_section("XCBuildConfiguration"):
        target = cfg.buildSettings["IPHONEOS_DEPLOYMENT_TARGET"] if "IPHONEOS_DEPLOYMENT_TARGET" in cfg.buildSettings else None
        assert target in (None, "17.0")
    scheme = (IOS / "DistilKitQA.xcodeproj/xcshareddata/xcschemes/DistilKitQA.xcscheme").read_text()
    for t in objs.get_targets():
        assert t.get_id() in scheme
    assert 'swift-tools-version:5.9' in (IOS / "QACore/Package.swift").read_text()
    assert ".iOS(.v17)" in (IOS / "QACore/Package.swift").read_text()


def test_gradle_project_modules_sdk_levels_and_runtimes():
    settings = (ANDROID / "settings.gradle").read_text()
    assert re.search(r"include\s+':app',\s*':qacore'", settings)
    catalog = tomllib.loads((ANDROID / "gradle/libs.versions.toml").read_text())
    assert catalog["versions"]["agp"].startswith("8.")
    assert catalog["plugins"]["android-application"]["id"] == "com.android.application"
    root = (ANDROID / "build.gradle").read_text()
    assert "alias(libs.plugins.android.application) apply false" in root
    app = (ANDROID / "app/build.gradle").read_text()
    min_sdk = int(re.search(r"minSdk (\d+)", app).group(1))
    assert min_sdk >= 24 and int(re.search(r"targetSdk (\d+)", app).group(1)) >= min_sdk
    assert "implementation project(':qacore')" in app
    assert "implementation libs.litert" in app and "implementation libs.executorch.android" in app
    core = (ANDROID / "qacore/build.gradle").read_text()
    assert "id 'java-library'" in core and "com.android" not in core
    # Every dependency and plugin version comes from the catalog: no literal coordinates in a build file.
    for build in (root, app, core, (ANDROID / "settings.gradle").read_text()):
        assert not re.search(r"['\"][\w.-]+:[\w.-]+:\d", build) and not re.search(r"version '\d", build)


def test_the_apk_carries_only_the_abis_both_runtimes_ship():
    """ExecuTorch's AAR has arm64-v8a and x86_64 libraries only: other ABIs would install and then fail."""
    app = (ANDROID / "app/build.gradle").read_text()
    filters = re.search(r"ndk\s*\{[^}]*abiFilters ([^\n]+)", app)
    assert filters and set(re.findall(r"'([\w-]+)'", filters.group(1))) == {"arm64-v8a", "x86_64"}
    wrapper = (ANDROID / "gradle/wrapper/gradle-wrapper.properties").read_text()
    assert re.search(r"gradle-8\.\d+(\.\d+)?-bin\.zip", wrapper)


def test_manifest_declares_the_launcher_activity_that_benchmark_mode_starts():
    manifest = (ANDROID / "app/src/main/AndroidManifest.xml").read_text()
    assert 'android:name=".MainActivity"' in manifest and 'android:exported="true"' in manifest
    assert "android.intent.category.LAUNCHER" in manifest
    # A configuration change mid-benchmark must not re-create the activity (and re-deliver the intent).
    changes = set(re.search(r'android:configChanges="([^"]+)"', manifest).group(1).split("|"))
    assert {"orientation", "screenSize", "screenLayout", "smallestScreenSize", "uiMode", "density"} <= changes
    activity = (ANDROID / "app/src/main/java/org/distilkit/qa/app/MainActivity.java").read_text()
    assert "addFlags(WindowManager.LayoutParams.FLAG_KEEP_SCREEN_ON)" in activity
    assert "clearFlags(WindowManager.LayoutParams.FLAG_KEEP_SCREEN_ON)" in activity
    assert "BenchmarkSession.claim(" in activity
    from pipeline.devices import device_android
    assert device_android.ACTIVITY == "org.distilkit.qa.app/.MainActivity"
    assert "namespace 'org.distilkit.qa.app'" in (ANDROID / "app/build.gradle").read_text()


def test_core_library_uses_only_the_java_standard_library():
    for src in (ANDROID / "qacore/src/main/java").rglob("*.java"):
        for imp in re.findall(r"^import\s+([\w.]+)", src.read_text(), re.M):
            assert imp.startswith(("java.util", "java.io", "java.nio", "java.text", "java.security")), f"{src.name}: {imp}"


def test_swift_core_uses_only_foundation():
    for src in (IOS / "QACore/Sources").rglob("*.swift"):
        for imp in re.findall(r"^import\s+(\w+)", src.read_text(), re.M):
            assert imp == "Foundation", f"{src.name}: {imp}"


def test_android_app_sources_parse(tmp_path):
    require(bool(shutil.which("javac")), "javac")
    # Parse only: the Android SDK, LiteRT and ExecuTorch classes the app uses are not on this machine.
    srcs = sorted(str(p) for p in (ANDROID / "app/src/main/java").rglob("*.java"))
    res = subprocess.run(["javac", "-d", str(tmp_path), "-XDshould-stop.ifNoError=PARSE",
                          "-XDshould-stop.ifError=PARSE", *srcs], capture_output=True, text=True)
    assert len(srcs) >= 6 and res.returncode == 0, res.stderr


def test_ios_app_sources_parse():
    require(bool(shutil.which("swiftc")), "the Swift toolchain")
    # Parse only: SwiftUI, Core ML, UIKit and ExecuTorch exist only on Apple platforms.
    for src in sorted([*(IOS / "DistilKitQA").glob("*.swift"), *(IOS / "DistilKitQATests").glob("*.swift")]):
        res = subprocess.run(["swiftc", "-parse", str(src)], capture_output=True, text=True)
        assert res.returncode == 0, f"{src.name}: {res.stderr}"


def test_the_apps_have_launcher_icons():
    """Android: an adaptive icon (minSdk 26) the manifest names; iOS: an AppIcon set with the single 1024-point
    image Xcode 14+ derives the others from, opaque (the App Store refuses an icon with alpha)."""
    res = ANDROID / "app/src/main/res"
    manifest = (ANDROID / "app/src/main/AndroidManifest.xml").read_text()
    assert 'android:icon="@mipmap/ic_launcher"' in manifest
    icon = (res / "mipmap-anydpi-v26/ic_launcher.xml").read_text()
    for ref, path in (("@color/ic_launcher_background", "values/colors.xml"),
                      ("@drawable/ic_launcher_foreground", "drawable/ic_launcher_foreground.xml")):
        assert ref in icon and (res / path).is_file(), ref
    appicon = IOS / "DistilKitQA/Assets.xcassets/AppIcon.appiconset"
    images = json.loads((appicon / "Contents.json").read_text())["images"]
    assert [(i["idiom"], i["platform"], i["size"]) for i in images] == [("universal", "ios", "1024x1024")]
    pbxproj = (IOS / "DistilKitQA.xcodeproj/project.pbxproj").read_text()
    assert "ASSETCATALOG_COMPILER_APPICON_NAME = AppIcon;" in pbxproj
    ref = re.search(r"(\w{24}) = \{\s*isa = PBXFileReference;\s*lastKnownFileType = folder.assetcatalog;\s*"
                    r"path = Assets.xcassets;", pbxproj)
    assert ref and f"fileRef = {ref.group(1)};" in pbxproj, "the asset catalog is built into the app"
    png = (appicon / images[0]["filename"]).read_bytes()
    width, height, depth, color_type = struct.unpack(">IIBB", png[16:26])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and (width, height) == (1024, 1024) and color_type == 2, (width, height, color_type)


def test_targeting_android_15_the_screen_pads_for_the_system_bars_and_keyboard():
    """targetSdk 35 makes the app edge to edge on Android 15: the root view takes the system bars', cutout's and
    keyboard's insets as padding (it compiles against the API 35 stubs in test_mobile_android_build)."""
    target = int(re.search(r"targetSdk (\d+)", (ANDROID / "app/build.gradle").read_text()).group(1))
    activity = (ANDROID / "app/src/main/java/org/distilkit/qa/app/MainActivity.java").read_text()
    if target >= 35:
        assert "setOnApplyWindowInsetsListener" in activity
        for kind in ("systemBars()", "displayCutout()", "ime()"):
            assert f"WindowInsets.Type.{kind}" in activity, kind
