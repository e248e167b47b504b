"""Benchmark the Android app on a connected phone and bring the results home.

    python pipeline/devices/device_android.py                 # build, install, run, pull, validate
    python pipeline/devices/device_android.py --serial R5CX... --phone.iters 50 --skip-build

Builds mobile/android with its committed Gradle wrapper (./gradlew assembleDebug), installs the
APK with adb, starts the benchmark mode by intent extras, waits for the app to
write files/distilkit/bench-<run id>.json, pulls it (run-as: the debug APK is debuggable),
validates it against the shared benchmark schema and writes results/device/android-*.json. The
file holds the timings and, when a question set is staged (apps.questions), the EM / F1 the app
reached on it (its accuracy block), summed up beside them.
Stage the models first: python pipeline/build_all.py --stages apps.
"""
from __future__ import annotations

import sys
from pathlib import Path

from pipeline.config import UserError  # noqa: E402
from pipeline.devices.device_common import (DeviceError, accept_results, main_guard, need_tool, parse_args,  # noqa: E402
                                            run, run_id, staged_models, summary, wait_for)
from pipeline.core.runs import REPO  # noqa: E402

PACKAGE = "org.distilkit.qa.app"
ACTIVITY = f"{PACKAGE}/.MainActivity"
APK = Path("app/build/outputs/apk/debug/app-debug.apk")
MODELS = Path("app/src/main/assets/models")


def build(project: Path, timeout: float) -> Path:
    # Only the wrapper: it pins the Gradle that the Android Gradle plugin needs, which a `gradle`
    # on PATH (Debian's is 4.4.1) is not.
    wrapper = project / "gradlew"
    if not wrapper.is_file():
        raise UserError(f"no gradlew in {project}: the Gradle wrapper is committed, restore it with "
                        f"git checkout -- {project}/gradlew {project}/gradle/wrapper")
    run([str(wrapper), "assembleDebug"], "the Android build (gradlew assembleDebug)", timeout, cwd=project)
    apk = project / APK
    if not apk.is_file():
        raise DeviceError(f"the Android build finished but {apk} is missing")
    return apk


def pick_device(adb: str, serial: str) -> str:
    out = run([adb, "devices"], "adb devices", 60).stdout.decode(errors="replace")
    states = dict(line.split("\t", 1) for line in out.splitlines()[1:] if "\t" in line)
    ready = [s for s, state in states.items() if state.strip() == "device"]
    if serial:
        if serial not in states:
            raise UserError(f"device {serial} is not connected (adb devices lists: {', '.join(states) or 'none'})")
        if serial not in ready:
            raise UserError(f"device {serial} is {states[serial].strip()}: unlock it and accept USB debugging")
        return serial
    if not ready:
        extra = f" ({', '.join(f'{s}: {st.strip()}' for s, st in states.items())})" if states else ""
        raise UserError(f"no Android device connected and authorised{extra}; plug one in with USB debugging on")
    if len(ready) > 1:
        raise UserError(f"{len(ready)} devices connected ({', '.join(ready)}); choose one with --serial")
    return ready[0]


def benchmark(args) -> str:
    project = Path(args.project)
    if not (project / "settings.gradle").is_file():
        raise UserError(f"{project} is not the Android project (no settings.gradle)")
    adb = need_tool("adb", "install Android platform-tools")
    serial = pick_device(adb, args.serial)
    if not args.skip_build:
        print(staged_models(project / MODELS, copies=2), flush=True)
    apk = project / APK if args.skip_build else build(project, args.build_timeout)
    if not apk.is_file():
        raise UserError(f"no APK at {apk}; build without --skip-build first")
    s = [adb, "-s", serial]
    run(s + ["install", "-r", apk], "installing the APK", 300)
    rid = args.run_id or run_id()
    previous = awake(s)
    try:
        raw = run_benchmark(s, args, rid)
    finally:
        # The phone's own setting comes back, whatever happened during the run.
        run(s + ["shell", "settings", "put", "global", "stay_on_while_plugged_in", previous],
            "restoring the stay-awake setting", 30, check=False)
    model = run(s + ["shell", "getprop", "ro.product.model"], "reading the device model", 30,
                check=False).stdout.decode(errors="replace").strip() or serial
    return summary(accept_results(raw, f"bench-{rid}.json", Path(args.out), f"android-{model}-{rid}"), project / MODELS)


def awake(s: list) -> str:
    """Wakes the phone, dismisses an insecure lock screen and keeps the screen on while plugged in (a
    sleeping phone throttles or pauses the app); returns the setting to restore afterwards."""
    previous = run(s + ["shell", "settings", "get", "global", "stay_on_while_plugged_in"], "reading the stay-awake setting",
                   30, check=False).stdout.decode(errors="replace").strip()
    run(s + ["shell", "input", "keyevent", "KEYCODE_WAKEUP"], "waking the phone", 30)
    run(s + ["shell", "wm", "dismiss-keyguard"], "dismissing the lock screen", 30, check=False)
    run(s + ["shell", "svc", "power", "stayon", "usb"], "keeping the screen on", 30, check=False)
    return previous if previous.isdigit() else "0"


def run_benchmark(s: list, args, rid: str) -> bytes:
    """Starts the benchmark mode and returns the results file's bytes."""
    started = run(s + ["shell", "am", "start", "-S", "-n", ACTIVITY, "--es", "mode", "benchmark", "--es", "run_id", rid,
                       "--ei", "warmup", args.warmup, "--ei", "iters", args.iters, "--es", "preset", args.preset,
                       "--es", "teacher", args.teacher, "--es", "corpus", args.corpus], "starting the benchmark", 120)
    # am reports a missing activity on its output with exit status 0.
    said = (started.stdout + started.stderr).decode(errors="replace")
    if "Error:" in said:
        raise DeviceError(f"starting the benchmark failed: {said[said.index('Error:'):].splitlines()[0][:300]}")
    name = f"bench-{rid}"
    gone = [0]

    def finished():
        listing = run(s + ["shell", "run-as", PACKAGE, "ls", "files/distilkit"], "listing the app's files", 60,
                      check=False).stdout.decode(errors="replace").split()
        if f"{name}.error.txt" in listing:
            msg = run(s + ["exec-out", "run-as", PACKAGE, "cat", f"files/distilkit/{name}.error.txt"],
                      "reading the app's error", 60).stdout.decode(errors="replace").strip()
            raise DeviceError(f"the app could not run the benchmark: {msg.splitlines()[0] if msg else 'no message'}")
        if f"{name}.json" in listing:
            return True
        # A crash would otherwise only show as a timeout, possibly half an hour later.
        alive = run(s + ["shell", "pidof", PACKAGE], "checking the app", 30, check=False).returncode == 0
        gone[0] = 0 if alive else gone[0] + 1
        if gone[0] >= 3:
            raise DeviceError("the app stopped without writing results (crashed? see: "
                              "adb logcat -s DistilKitBench AndroidRuntime)")
        return None

    wait_for(finished, args.timeout, args.poll,
             f"the app wrote no {name}.json (is it crashing? see: adb logcat -s DistilKitBench AndroidRuntime)")
    return run(s + ["exec-out", "run-as", PACKAGE, "cat", f"files/distilkit/{name}.json"],
               "pulling the results", 120).stdout


def _inputs(p) -> None:
    p.add_argument("--project", default=str(REPO / "mobile" / "android"), help="the Android Gradle project")
    p.add_argument("--serial", default="", help="adb serial of the phone (needed when several are connected)")


def main(argv=None) -> int:
    return main_guard(lambda a: benchmark(parse_args("device_android.py", __doc__.split("\n\n")[0], _inputs, a)), argv)


if __name__ == "__main__":
    sys.exit(main())
