"""The device drivers against fake adb / gradlew / xcodebuild / xcrun that record their arguments."""
import json
import os
import sys
from pathlib import Path

import pytest

from pipeline.devices import device_android
from pipeline.devices import device_ios
from pipeline.core import results_schema

REPO = Path(__file__).resolve().parent.parent
FAKE = Path(__file__).resolve().parent / "fake_mobile_tools.py"
GOOD = json.loads((REPO / "mobile/fixtures/results_example.json").read_text())["expected"]
IOS_DEVICE = {"result": {"devices": [{"identifier": "ABC-123", "deviceProperties": {"name": "Test iPhone"},
                                      "hardwareProperties": {"platform": "iOS", "udid": "00008110-XYZ"},
                                      "connectionProperties": {"tunnelState": "connected"}}]}}


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """bin/ with the fake tools on PATH (python and git stay reachable), a log, an Android project."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("adb", "xcodebuild", "xcrun"):
        exe = bin_dir / tool
        exe.write_text(f"#!{sys.executable}\nexec(open({str(FAKE)!r}).read())\n")
        exe.chmod(0o755)
    project = tmp_path / "android"
    project.mkdir()
    (project / "settings.gradle").write_text("include ':app'\n")
    gradlew = project / "gradlew"
    gradlew.write_text((bin_dir / "adb").read_text())
    gradlew.chmod(0o755)
    xcproj = tmp_path / "DistilKitQA.xcodeproj"
    xcproj.mkdir()
    (xcproj / "project.pbxproj").write_text("// fake\n")
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("FAKE_DEVICES", "emulator-5554:device")
    monkeypatch.setenv("FAKE_IOS_DEVICES", json.dumps(IOS_DEVICE))
    for var in ("FAKE_RESULTS", "FAKE_APP_ERROR", "FAKE_FAIL", "FAKE_CRASH"):
        monkeypatch.delenv(var, raising=False)

    class Env:
        out = tmp_path / "results"

        def results(self, obj_or_text):
            p = tmp_path / "app_results.json"
            p.write_text(obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text))
            monkeypatch.setenv("FAKE_RESULTS", str(p))

        def calls(self, tool=None):
            rows = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
            return [r for r in rows if tool is None or r["tool"] == tool]

        def android(self, *extra):
            return device_android.main(["--project", str(project), "--out", str(self.out), "--run-id", "r1",
                                        "--timeout", "0.5", "--poll", "0.05", *extra])

        def ios(self, *extra):
            return device_ios.main(["--project", str(xcproj), "--out", str(self.out), "--run-id", "r1",
                                    "--derived-data", str(tmp_path / "dd"), "--timeout", "0.5", "--poll", "0.05",
                                    *extra])
    return Env()


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_android_builds_installs_runs_and_validates(fake, capsys):
    fake.results(GOOD)
    assert fake.android("--iters", "7") == 0
    written = list(fake.out.glob("*.json"))
    assert [p.name for p in written] == ["android-Pixel-8-r1.json"]
    assert results_schema.validate(json.loads(written[0].read_text())) == []
    assert fake.calls("gradlew")[0]["args"] == ["assembleDebug"]
    adb = [c["args"] for c in fake.calls("adb")]
    assert ["-s", "emulator-5554", "install", "-r"] == adb[1][:4]
    start = next(a for a in adb if "am" in a)
    assert start[start.index("mode") + 1] == "benchmark" and start[start.index("iters") + 1] == "7"
    assert "Pixel 8" in capsys.readouterr().out


@pytest.mark.parametrize("setup, rc, message", [
    (lambda f, mp: mp.setenv("PATH", "/nonexistent"), 2, "adb not found on PATH"),
    (lambda f, mp: mp.setenv("FAKE_DEVICES", ""), 2, "no Android device connected"),
    (lambda f, mp: mp.setenv("FAKE_DEVICES", "X1:unauthorized"), 2, "no Android device connected and authorised (X1: unauthorized)"),
    (lambda f, mp: mp.setenv("FAKE_DEVICES", "A:device;B:device"), 2, "choose one with --serial"),
    (lambda f, mp: None, 1, "the app wrote no bench-r1.json"),
    (lambda f, mp: f.results("{not json"), 1, "is not valid JSON"),
    (lambda f, mp: f.results(dict(GOOD, entries=[])), 1, "does not match the benchmark schema"),
    (lambda f, mp: f.results(dict(GOOD, source="host")), 1, "source 'device'"),
    (lambda f, mp: mp.setenv("FAKE_APP_ERROR", "model file x.tflite is missing"), 1,
     "could not run the benchmark: model file x.tflite is missing"),
    (lambda f, mp: (f.results(GOOD), mp.setenv("FAKE_FAIL", "gradlew")), 1, "Android build (gradlew assembleDebug) failed"),
])
def test_android_failures_are_one_clear_line(fake, capsys, monkeypatch, setup, rc, message):
    setup(fake, monkeypatch)
    assert fake.android() == rc
    assert message in one_error_line(capsys)
    assert not fake.out.exists() or not list(fake.out.iterdir())


def test_android_crash_is_reported_before_the_timeout(fake, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_CRASH", "1")
    assert fake.android("--timeout", "60") == 1
    assert "the app stopped without writing results" in one_error_line(capsys)
    assert sum("pidof" in c["args"] for c in fake.calls("adb")) == 3


def test_android_skip_build_needs_an_apk(fake, capsys):
    fake.results(GOOD)
    assert fake.android("--skip-build") == 2
    assert "no APK" in one_error_line(capsys)
    assert fake.calls("gradlew") == []


def test_ios_launch_mode(fake, capsys):
    fake.results(GOOD)
    assert fake.ios("--warmup", "3") == 0
    assert [p.name for p in fake.out.glob("*.json")] == ["ios-Test-iPhone-r1.json"]
    xcb = fake.calls("xcodebuild")[0]["args"]
    assert xcb[-1] == "build" and "id=00008110-XYZ" in xcb and xcb[xcb.index("-scheme") + 1] == "DistilKitQA"
    launch = next(c["args"] for c in fake.calls("xcrun") if c["args"][:4] == ["devicectl", "device", "process", "launch"])
    assert "org.distilkit.qa" in launch and "--benchmark" in launch
    assert launch[launch.index("--device") + 1] == "ABC-123"
    assert launch[launch.index("--warmup") + 1] == "3" and launch[launch.index("--run-id") + 1] == "r1"


def test_ios_xctest_mode_passes_settings_through_the_environment(fake):
    fake.results(GOOD)
    assert fake.ios("--xctest", "--iters", "9") == 0
    actions = [c["args"][-1] for c in fake.calls("xcodebuild")]
    assert actions == ["build-for-testing", "test-without-building"]
    env = fake.calls("xcodebuild")[1]["env"]
    assert env["TEST_RUNNER_DISTILKIT_RUN_ID"] == "r1" and env["TEST_RUNNER_DISTILKIT_ITERS"] == "9"


@pytest.mark.parametrize("setup, rc, message", [
    (lambda f, mp: mp.setenv("PATH", "/nonexistent"), 2, "xcrun not found on PATH"),
    (lambda f, mp: mp.setenv("FAKE_IOS_DEVICES", '{"result": {"devices": []}}'), 2, "no iPhone or iPad connected"),
    (lambda f, mp: mp.setenv("FAKE_IOS_DEVICES", "garbage"), 1, "no readable device list"),
    (lambda f, mp: None, 1, "the app wrote no bench-r1.json"),
    (lambda f, mp: f.results("[1, 2"), 1, "is not valid JSON"),
    (lambda f, mp: mp.setenv("FAKE_APP_ERROR", "vocabulary v.txt is missing"), 1, "vocabulary v.txt is missing"),
    (lambda f, mp: (f.results(GOOD), mp.setenv("FAKE_FAIL", "xcodebuild")), 1, "iOS build (xcodebuild build) failed"),
])
def test_ios_failures_are_one_clear_line(fake, capsys, monkeypatch, setup, rc, message):
    setup(fake, monkeypatch)
    assert fake.ios() == rc
    assert message in one_error_line(capsys)
    assert not fake.out.exists() or not list(fake.out.iterdir())


def test_ios_unknown_device_is_named(fake, capsys):
    fake.results(GOOD)
    assert fake.ios("--device", "Other Phone") == 2
    assert "device Other Phone is not connected (connected: Test iPhone)" in one_error_line(capsys)


def test_help_works_without_any_tool(monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/nonexistent")
    for mod in (device_android, device_ios):
        with pytest.raises(SystemExit) as e:
            mod.main(["--help"])
        assert e.value.code == 0
    assert "devicectl" in capsys.readouterr().out
