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


TEAM = "ABCDE12345"


def stage(folder: Path, model: str, size: int = 1000):
    """A staged model as the apps stage leaves it: the file and its sidecar."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / model).write_bytes(b"m" * size)
    (folder / f"{model}.json").write_text(json.dumps({"file": model, "bytes": size}))


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
    stage(project / "app/src/main/assets/models", "student.tflite.fp32.384.tflite")
    stage(tmp_path / "DistilKitQA/Models", "student.executorch.fp32.384.pte")
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
    for var in ("FAKE_RESULTS", "FAKE_APP_ERROR", "FAKE_FAIL", "FAKE_CRASH", "FAKE_AM_ERROR", "FAKE_XCTEST_FAIL",
                "FAKE_STAY_ON"):
        monkeypatch.delenv(var, raising=False)

    class Env:
        out = tmp_path / "results"
        android_project, ios_project = project, xcproj

        def results(self, obj_or_text):
            p = tmp_path / "app_results.json"
            p.write_text(obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text))
            monkeypatch.setenv("FAKE_RESULTS", str(p))

        def calls(self, tool=None):
            rows = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
            return [r for r in rows if tool is None or r["tool"] == tool]

        def android(self, *extra):
            return device_android.main(["--project", str(project), "--out", str(self.out), "--run-id", "r1",
                                        "--phone.timeout", "0.5", "--phone.poll", "0.05", *extra])

        def ios(self, *extra, team=TEAM):
            return device_ios.main(["--project", str(xcproj), "--out", str(self.out), "--run-id", "r1",
                                    "--derived-data", str(tmp_path / "dd"), "--phone.timeout", "0.5", "--phone.poll", "0.05",
                                    *(["--team", team] if team else []), *extra])
    return Env()


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_android_builds_installs_runs_and_validates(fake, capsys):
    fake.results(GOOD)
    assert fake.android("--phone.iters", "7") == 0
    written = list(fake.out.glob("*.json"))
    assert [p.name for p in written] == ["android-Pixel-8-r1.json"]
    assert results_schema.validate(json.loads(written[0].read_text())) == []
    assert fake.calls("gradlew")[0]["args"] == ["assembleDebug"]
    adb = [c["args"] for c in fake.calls("adb")]
    assert ["-s", "emulator-5554", "install", "-r"] == adb[1][:4]
    start = next(a for a in adb if "am" in a)
    assert start[start.index("mode") + 1] == "benchmark" and start[start.index("iters") + 1] == "7"
    out = capsys.readouterr().out
    assert "Pixel 8" in out
    assert "staged: 1 model(s), 0.0 MB" in out and "on the phone" in out


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
    # What the app's BenchmarkSession writes when ExecuTorch's native library cannot load.
    (lambda f, mp: mp.setenv("FAKE_APP_ERROR", "UnsatisfiedLinkError: dlopen failed: library \"libexecutorch.so\" not found"),
     1, "could not run the benchmark: UnsatisfiedLinkError: dlopen failed"),
    (lambda f, mp: mp.setenv("FAKE_AM_ERROR", "Activity class {org.distilkit.qa.app/.MainActivity} does not exist."), 1,
     "starting the benchmark failed: Error: Activity class"),
    (lambda f, mp: (f.android_project / "gradlew").unlink(), 2, "no gradlew in"),
    (lambda f, mp: [p.unlink() for p in (f.android_project / "app/src/main/assets/models").iterdir()], 2,
     "no models staged in"),
    (lambda f, mp: (f.results(GOOD), mp.setenv("FAKE_FAIL", "gradlew")), 1, "Android build (gradlew assembleDebug) failed"),
])
def test_android_failures_are_one_clear_line(fake, capsys, monkeypatch, setup, rc, message):
    setup(fake, monkeypatch)
    assert fake.android() == rc
    assert message in one_error_line(capsys)
    assert not fake.out.exists() or not list(fake.out.iterdir())


def test_android_crash_is_reported_before_the_timeout(fake, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_CRASH", "1")
    assert fake.android("--phone.timeout", "60") == 1
    assert "the app stopped without writing results" in one_error_line(capsys)
    assert sum("pidof" in c["args"] for c in fake.calls("adb")) == 3


@pytest.mark.parametrize("outcome", ["results", "crash"])
def test_android_wakes_the_phone_keeps_it_on_and_restores_its_setting(fake, capsys, monkeypatch, outcome):
    """Woken and unlocked before the intent, screen kept on while plugged in, the phone's own
    stay-awake setting put back afterwards, also when the run fails."""
    monkeypatch.setenv("FAKE_STAY_ON", "7")
    if outcome == "results":
        fake.results(GOOD)
    else:
        monkeypatch.setenv("FAKE_CRASH", "1")
    assert fake.android() == (0 if outcome == "results" else 1)
    shell = [c["args"][3:] for c in fake.calls("adb") if c["args"][2:3] == ["shell"]]
    start = next(i for i, a in enumerate(shell) if a[:2] == ["am", "start"])
    before = shell[:start]
    assert ["input", "keyevent", "KEYCODE_WAKEUP"] in before and ["wm", "dismiss-keyguard"] in before
    assert ["svc", "power", "stayon", "usb"] in before
    assert shell[start:].count(["settings", "put", "global", "stay_on_while_plugged_in", "7"]) == 1


def test_android_skip_build_needs_an_apk(fake, capsys):
    fake.results(GOOD)
    assert fake.android("--skip-build") == 2
    assert "no APK" in one_error_line(capsys)
    assert fake.calls("gradlew") == []


def test_ios_launch_mode(fake, capsys):
    fake.results(GOOD)
    assert fake.ios("--phone.warmup", "3") == 0
    assert [p.name for p in fake.out.glob("*.json")] == ["ios-Test-iPhone-r1.json"]
    xcb = fake.calls("xcodebuild")[0]["args"]
    assert xcb[-1] == "build" and "id=00008110-XYZ" in xcb and xcb[xcb.index("-scheme") + 1] == "DistilKitQA"
    assert xcb[xcb.index("-configuration") + 1] == device_ios.CONFIGURATION
    bundle = f"org.distilkit.qa.{TEAM}"
    assert f"DEVELOPMENT_TEAM={TEAM}" in xcb and f"DISTILKIT_BUNDLE_ID={bundle}" in xcb
    launch = next(c["args"] for c in fake.calls("xcrun") if c["args"][:4] == ["devicectl", "device", "process", "launch"])
    assert launch[launch.index("--device") + 1] == "ABC-123"
    # devicectl's options, then "--", then the bundle id and the app's own arguments
    sep = launch.index("--")
    assert launch[sep + 1] == bundle and launch[sep + 2] == "--benchmark"
    assert launch.index("--device") < sep and launch.index("--warmup") > sep
    assert launch[launch.index("--warmup") + 1] == "3" and launch[launch.index("--run-id") + 1] == "r1"
    copies = [c["args"] for c in fake.calls("xcrun") if c["args"][:4] == ["devicectl", "device", "copy", "from"]]
    assert copies and all(a[a.index("--domain-identifier") + 1] == bundle for a in copies)
    assert "staged: 1 model(s)" in capsys.readouterr().out


def test_ios_bundle_id_of_your_own(fake):
    fake.results(GOOD)
    assert fake.ios("--bundle-id", "com.example.qa") == 0
    assert "DISTILKIT_BUNDLE_ID=com.example.qa" in fake.calls("xcodebuild")[0]["args"]
    launch = next(c["args"] for c in fake.calls("xcrun") if c["args"][:4] == ["devicectl", "device", "process", "launch"])
    assert launch[launch.index("--") + 1] == "com.example.qa"


@pytest.mark.parametrize("extra, team, message", [
    ((), "", "--team is required: the Apple development team id"),
    ((), "abc", "--team 'abc' is not a team id"),
    (("--bundle-id", "no spaces allowed"), TEAM, "is not a bundle id"),
])
def test_ios_signing_options_are_checked_before_any_tool_runs(fake, capsys, extra, team, message):
    assert fake.ios(*extra, team=team) == 2
    assert message in one_error_line(capsys)
    assert fake.calls() == []


def test_ios_xctest_mode_passes_settings_through_the_environment(fake):
    fake.results(GOOD)
    assert fake.ios("--xctest", "--phone.iters", "9") == 0
    actions = [c["args"][-1] for c in fake.calls("xcodebuild")]
    assert actions == ["build-for-testing", "test-without-building"]
    env = fake.calls("xcodebuild")[1]["env"]
    assert env["TEST_RUNNER_DISTILKIT_RUN_ID"] == "r1" and env["TEST_RUNNER_DISTILKIT_ITERS"] == "9"


def test_ios_crash_is_reported_before_the_timeout(fake, capsys, monkeypatch):
    """The app's process gone from devicectl's list (three polls running) ends the wait, not the timeout."""
    monkeypatch.setenv("FAKE_CRASH", "1")
    assert fake.ios("--phone.timeout", "60") == 1
    assert "the app stopped without writing results" in one_error_line(capsys)
    listings = [c for c in fake.calls("xcrun") if c["args"][:4] == ["devicectl", "device", "info", "processes"]]
    assert len(listings) == 3


def test_ios_running_app_is_waited_for(fake, capsys):
    assert fake.ios() == 1
    assert "the app wrote no bench-r1.json" in one_error_line(capsys)


@pytest.mark.parametrize("app_error, message", [
    ("Core ML cannot load x.mlpackage", "the app could not run the benchmark: Core ML cannot load x.mlpackage"),
    (None, "the benchmark XCTest failed: ** TEST EXECUTE FAILED ** but the app wrote no bench-r1.json"),
])
def test_ios_xctest_failure_reads_the_apps_error_file_first(fake, capsys, monkeypatch, app_error, message):
    monkeypatch.setenv("FAKE_XCTEST_FAIL", "1")
    if app_error:
        monkeypatch.setenv("FAKE_APP_ERROR", app_error)
    assert fake.ios("--xctest") == 1
    assert message in one_error_line(capsys)
    copies = [c["args"] for c in fake.calls("xcrun") if c["args"][:4] == ["devicectl", "device", "copy", "from"]]
    assert any(a[a.index("--source") + 1].endswith(".error.txt") for a in copies)


@pytest.mark.parametrize("setup, rc, message", [
    (lambda f, mp: mp.setenv("PATH", "/nonexistent"), 2, "xcrun not found on PATH"),
    (lambda f, mp: mp.setenv("FAKE_IOS_DEVICES", '{"result": {"devices": []}}'), 2, "no iPhone or iPad connected"),
    (lambda f, mp: mp.setenv("FAKE_IOS_DEVICES", "garbage"), 1, "no readable device list"),
    (lambda f, mp: None, 1, "the app wrote no bench-r1.json"),
    (lambda f, mp: f.results("[1, 2"), 1, "is not valid JSON"),
    (lambda f, mp: mp.setenv("FAKE_APP_ERROR", "vocabulary v.txt is missing"), 1, "vocabulary v.txt is missing"),
    (lambda f, mp: (f.results(GOOD), mp.setenv("FAKE_FAIL", "xcodebuild")), 1, "iOS build (xcodebuild build) failed"),
    (lambda f, mp: [p.unlink() for p in (f.ios_project.parent / "DistilKitQA/Models").iterdir()], 2, "no models staged in"),
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


ACCURATE = json.loads((REPO / "mobile/fixtures/accuracy_results.json").read_text())  # what an app writes, with accuracy


@pytest.mark.parametrize("platform", ["android", "ios"])
def test_the_accuracy_block_comes_home_in_the_results_file(fake, capsys, platform):
    """The question set answered on the phone travels in bench-ID.json: pulled, validated and summed up with it."""
    folder = fake.android_project / "app/src/main/assets/models" if platform == "android" else \
        fake.ios_project.parent / "DistilKitQA/Models"
    (folder / "questions.json").write_text((REPO / "mobile/fixtures/questions.json").read_text())
    fake.results(ACCURATE)
    assert (fake.android() if platform == "android" else fake.ios()) == 0
    [written] = fake.out.glob("*.json")
    assert json.loads(written.read_text())["accuracy"] == ACCURATE["accuracy"]
    out = capsys.readouterr().out
    assert "staged: 1 model(s)" in out and "the app answers the 50 handwritten questions after timing" in out
    assert "accuracy on 50 handwritten questions" in out
    assert "litert      student    fp32  L=128 68.2  L=384 68.2  app 76.0" in out
    assert "warning" not in out


def test_a_staged_set_the_results_lack_is_said(fake, capsys):
    folder = fake.android_project / "app/src/main/assets/models"
    (folder / "questions.json").write_text(json.dumps({"question_set": "natural_dev", "questions": [{}] * 3}))
    fake.results(GOOD)
    assert fake.android() == 0
    assert "no accuracy: natural_dev is staged but the app answered no questions" in capsys.readouterr().out
    fake.results(ACCURATE)
    assert fake.android() == 0
    assert "warning: 3 natural_dev questions are staged now: the app was built before" in capsys.readouterr().out


def test_a_malformed_accuracy_block_is_refused(fake, capsys):
    fake.results(dict(ACCURATE, accuracy=dict(ACCURATE["accuracy"], entries=[{"model": "student"}])))
    assert fake.android() == 1
    assert "does not match the benchmark schema" in one_error_line(capsys)
