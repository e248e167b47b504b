"""The Android app module as far as this machine can build it without the Android SDK: its Java
compiles with javac against signature stubs of exactly the android.*, LiteRT and ExecuTorch
classes it uses (tests/android_stubs); aapt2 compiles and links its manifest and resources
against Debian's framework-res.apk; the committed Gradle wrapper starts the Gradle it pins."""
import os
import re
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest

from test_mobile_ports import require

REPO = Path(__file__).resolve().parent.parent
ANDROID = REPO / "mobile" / "android"
APP = ANDROID / "app" / "src" / "main"
STUBS = Path(__file__).resolve().parent / "android_stubs"
FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")
# AGP major.minor -> the lowest Gradle it runs on (developer.android.com, "Android Gradle plugin
# release notes", compatibility table; AGP 8.7.0 release notes: minimum and default Gradle 8.9).
AGP_MIN_GRADLE = {(8, 5): (8, 7), (8, 6): (8, 7), (8, 7): (8, 9), (8, 8): (8, 10, 2), (8, 9): (8, 11, 1)}


def catalog_versions() -> dict:
    return tomllib.loads((ANDROID / "gradle/libs.versions.toml").read_text())["versions"]


def build_config(out: Path) -> Path:
    """BuildConfig as AGP generates it from app/build.gradle's buildConfigField lines."""
    gradle = (ANDROID / "app" / "build.gradle").read_text()
    versions = catalog_versions()
    fields = []
    for typ, name, value in re.findall(r"buildConfigField '(\w+)', '(\w+)', .*\$\{libs\.versions\.(\w+)\.get\(\)\}", gradle):
        fields.append(f'    public static final {typ} {name} = "{versions[value]}";')
    assert len(fields) == 2, "buildConfigField lines changed: update build_config()"
    ns = re.search(r"namespace '([\w.]+)'", gradle).group(1)
    path = out / "BuildConfig.java"
    path.write_text(f"package {ns};\npublic final class BuildConfig {{\n    public static final boolean DEBUG = true;\n"
                    + "\n".join(fields) + "\n}\n")
    return path


def r_class(out: Path) -> Path:
    """The app's R (string ids only: the only resources its Java names), as aapt2 would name them."""
    names = re.findall(r'<string name="(\w+)"', (APP / "res" / "values" / "strings.xml").read_text())
    body = "\n".join(f"        public static final int {n} = 0x7f0{i:05x};" for i, n in enumerate(names, 1))
    path = out / "R.java"
    path.write_text(f"package org.distilkit.qa.app;\npublic final class R {{\n    public static final class string {{\n"
                    f"{body}\n    }}\n}}\n")
    return path


def javac(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["nice", "-n", "10", "javac", "-Xlint:all", "-Xlint:-options", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def compile_app(tmp: Path, generated: list) -> subprocess.CompletedProcess:
    """qacore at its declared Java 8, then the app at Java 17 (as build.gradle says) on top of it."""
    stubs, core, app = tmp / "stubs", tmp / "core", tmp / "app"
    for d in (stubs, core, app):
        d.mkdir(exist_ok=True)
    res = javac("--release", "17", "-d", stubs, *sorted(STUBS.rglob("*.java")))
    assert res.returncode == 0, res.stderr
    res = javac("--release", "8", "-d", core, *sorted((ANDROID / "qacore/src/main/java").rglob("*.java")))
    assert res.returncode == 0, res.stderr
    return javac("--release", "17", "-Werror", "-cp", f"{stubs}:{core}", "-d", app,
                 *sorted((APP / "java").rglob("*.java")), *generated)


def test_app_java_compiles_against_the_stubs(tmp_path):
    require(bool(shutil.which("javac")), "javac")
    gen = tmp_path / "gen"
    gen.mkdir()
    res = compile_app(tmp_path, [build_config(gen), r_class(gen)])
    assert res.returncode == 0, res.stderr
    built = {p.stem for p in (tmp_path / "app").rglob("*.class")}
    assert {"MainActivity", "BenchmarkMode", "ModelStore", "Backends", "LiteRtQaModel", "ExecuTorchQaModel"} <= built


def test_the_stubs_cover_only_what_the_app_imports_and_name_their_source():
    """Every stub is a class the app or another stub refers to, and says where its signatures come from."""
    app_text = "\n".join(p.read_text() for p in (APP / "java").rglob("*.java"))
    stub_files = sorted(STUBS.rglob("*.java"))
    stub_text = "\n".join(p.read_text() for p in stub_files)
    for p in stub_files:
        head = p.read_text().splitlines()[0]
        assert head.startswith("// Signature stub") and re.search(r"\d+\.\d+|API \d+", head), p
        assert "https://" in head, f"{p}: name the published source"
        cls = ".".join(p.relative_to(STUBS).with_suffix("").parts)
        simple = cls.rsplit(".", 1)[1]
        used = re.search(rf"\b{re.escape(cls)}\b|\b{simple}\b", app_text)
        referenced = re.search(rf"\b{simple}\b", stub_text.replace(p.read_text(), ""))
        assert used or referenced, f"{cls} is stubbed but nothing uses it"
    versions = catalog_versions()
    for p in (STUBS / "org/pytorch/executorch").glob("*.java"):
        assert f"ExecuTorch Android {versions['executorch']}" in p.read_text(), p
    litert = list((STUBS / "com/google/ai/edge/litert").glob("*.java"))
    assert litert and not (STUBS / "org/tensorflow").exists()
    for p in litert:
        assert f"LiteRT {versions['litert']}" in p.read_text(), p


def aapt2_available() -> bool:
    return bool(shutil.which("aapt2")) and FRAMEWORK_RES.is_file()


def test_aapt2_compiles_and_links_the_manifest_and_resources(tmp_path):
    require(aapt2_available(), "aapt2 and framework-res.apk (Debian: aapt, android-framework-res)")
    gradle = (ANDROID / "app" / "build.gradle").read_text()
    ns = re.search(r"namespace '([\w.]+)'", gradle).group(1)
    min_sdk, target_sdk = re.search(r"minSdk (\d+)", gradle).group(1), re.search(r"targetSdk (\d+)", gradle).group(1)
    # AGP's manifest merger writes the package attribute from `namespace`; do the same.
    manifest = tmp_path / "AndroidManifest.xml"
    manifest.write_text((APP / "AndroidManifest.xml").read_text().replace("<manifest ", f'<manifest package="{ns}" ', 1))
    res = subprocess.run(["aapt2", "compile", "--dir", APP / "res", "-o", tmp_path / "res.zip"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    gen = tmp_path / "gen"
    res = subprocess.run(["aapt2", "link", "-I", FRAMEWORK_RES, "--manifest", manifest, "-o", tmp_path / "app.apk",
                          "--min-sdk-version", min_sdk, "--target-sdk-version", target_sdk, "--java", gen,
                          "-A", APP / "assets", tmp_path / "res.zip"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    with zipfile.ZipFile(tmp_path / "app.apk") as apk:
        assert {"AndroidManifest.xml", "resources.arsc"} <= set(apk.namelist())
    # The real R (aapt2's), not the test's imitation, must satisfy the app's sources too.
    out = tmp_path / "javac"
    out.mkdir()
    r_java = next(gen.rglob("R.java"))
    res = compile_app(out, [build_config(out), r_java])
    assert res.returncode == 0, res.stderr


def version_tuple(text: str) -> tuple:
    return tuple(int(x) for x in text.split("."))


def test_the_gradle_wrapper_is_committed_and_pins_a_gradle_the_agp_supports():
    for name in ("gradlew", "gradlew.bat", "gradle/wrapper/gradle-wrapper.jar", "gradle/wrapper/gradle-wrapper.properties"):
        assert (ANDROID / name).is_file(), name
    assert os.access(ANDROID / "gradlew", os.X_OK)
    with zipfile.ZipFile(ANDROID / "gradle/wrapper/gradle-wrapper.jar") as jar:
        assert "org/gradle/wrapper/GradleWrapperMain.class" in jar.namelist()
    props = (ANDROID / "gradle/wrapper/gradle-wrapper.properties").read_text()
    gradle = re.search(r"^distributionUrl=https\\://services\.gradle\.org/distributions/gradle-([\d.]+)-bin\.zip$",
                       props, re.M)
    agp = version_tuple(catalog_versions()["agp"])[:2]
    assert gradle
    need = AGP_MIN_GRADLE[agp]
    have = version_tuple(gradle.group(1))
    assert need <= have < (9,), f"AGP {agp} needs Gradle >= {need} (and 8.x), wrapper pins {have}"


def test_the_gradle_wrapper_starts_the_distribution_it_pins(tmp_path):
    """gradlew + gradle-wrapper.jar, run as committed, fetch and start gradle-<pinned>-bin.zip.

    The distribution is a stand-in built here (no network): its lib/ has the launcher jar that
    delegates to gradle-gradle-cli-main-*.jar through its manifest's Class-Path, as Gradle 8's
    distributions do, which is what an older wrapper jar has to follow."""
    require(bool(shutil.which("javac")) and bool(shutil.which("jar")), "javac and jar")
    props = (ANDROID / "gradle/wrapper/gradle-wrapper.properties").read_text()
    version = re.search(r"gradle-([\d.]+)-bin\.zip", props).group(1)
    src = tmp_path / "src/org/gradle/launcher"
    src.mkdir(parents=True)
    (src / "GradleMain.java").write_text(
        "package org.gradle.launcher;\npublic class GradleMain {\n    public static void main(String[] a) {\n"
        '        System.out.println("STAND-IN GRADLE " + String.join(" ", a));\n    }\n}\n')
    classes = tmp_path / "classes"
    assert javac("--release", "8", "-d", classes, src / "GradleMain.java").returncode == 0
    lib = tmp_path / "dist" / f"gradle-{version}" / "lib"
    lib.mkdir(parents=True)
    cli = f"gradle-gradle-cli-main-{version}.jar"
    subprocess.run(["jar", "cf", lib / cli, "-C", classes, "."], check=True, timeout=60)
    manifest = tmp_path / "MANIFEST.MF"
    manifest.write_text(f"Class-Path: {cli}\n")
    subprocess.run(["jar", "cfm", lib / f"gradle-launcher-{version}.jar", manifest], check=True, timeout=60)
    zip_path = tmp_path / f"gradle-{version}-bin.zip"
    with zipfile.ZipFile(zip_path, "w") as z:
        for f in (tmp_path / "dist").rglob("*"):
            z.write(f, f.relative_to(tmp_path / "dist"))
    project = tmp_path / "project"
    (project / "gradle/wrapper").mkdir(parents=True)
    for name in ("gradlew", "gradle/wrapper/gradle-wrapper.jar"):
        shutil.copy2(ANDROID / name, project / name)
    (project / "gradle/wrapper/gradle-wrapper.properties").write_text(
        re.sub(r"^distributionUrl=.*$", f"distributionUrl={zip_path.as_uri()}".replace("\\", "\\\\"), props, flags=re.M))
    env = dict(os.environ, GRADLE_USER_HOME=str(tmp_path / "home"))
    env.pop("JAVA_OPTS", None)
    res = subprocess.run([project / "gradlew", "assembleDebug"], cwd=project, env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and "STAND-IN GRADLE assembleDebug" in res.stdout, res.stdout + res.stderr
    assert (tmp_path / "home/wrapper/dists" / f"gradle-{version}-bin").is_dir()


def test_the_executorch_path_of_the_app_runs_on_test_doubles(tmp_path):
    """Backends + ExecuTorchQaModel + BenchmarkSession, run on tests/android_fakes in place of the AAR:
    Module.load gets the thread count the results record, loadMethod("forward") runs before the
    clock stops, and an UnsatisfiedLinkError ends in bench-ID.error.txt naming it."""
    require(bool(shutil.which("javac")) and bool(shutil.which("java")), "javac and java")
    import json
    gen = tmp_path / "gen"
    gen.mkdir()
    res = compile_app(tmp_path, [build_config(gen), r_class(gen)])
    assert res.returncode == 0, res.stderr
    fakes_src = Path(__file__).resolve().parent / "android_fakes"
    fakes, check = tmp_path / "fakes", tmp_path / "check"
    res = javac("--release", "17", "-d", fakes, *sorted((fakes_src / "org/pytorch").rglob("*.java")))
    assert res.returncode == 0, res.stderr
    cp = f"{fakes}:{tmp_path / 'app'}:{tmp_path / 'core'}:{tmp_path / 'stubs'}"
    res = javac("--release", "17", "-cp", cp, "-d", check, fakes_src / "org/distilkit/qa/app/AppCheck.java")
    assert res.returncode == 0, res.stderr
    models = tmp_path / "models"
    models.mkdir()
    fixtures = REPO / "mobile/fixtures"
    side = json.loads((fixtures / "sidecar_example.json").read_text())
    name = "student.executorch.fp32.384.pte"
    side.update(format="executorch", backend="xnnpack", file=name)
    (models / name).write_bytes(bytes(16))
    (models / f"{name}.json").write_text(json.dumps(side))
    shutil.copy(fixtures / "vocab.txt", models / "student.vocab.txt")
    res = subprocess.run(["java", "-cp", f"{fakes}:{check}:{cp}", "org.distilkit.qa.app.AppCheck",
                          models / f"{name}.json"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stdout + res.stderr
