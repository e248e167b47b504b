"""A stand-in for adb, gradlew, xcodebuild and xcrun in the device-driver tests.

Installed under each tool's name; it appends its arguments to $FAKE_LOG and answers from
environment variables: FAKE_DEVICES (adb devices lines), FAKE_IOS_DEVICES (devicectl JSON),
FAKE_RESULTS (file the app "wrote"), FAKE_APP_ERROR (the app's error message),
FAKE_FAIL (a tool name that exits 1), FAKE_CRASH (the app's process is gone), FAKE_XCTEST_FAIL
(the XCTest fails), FAKE_STAY_ON (the phone's stay-awake setting), FAKE_AM_ERROR
(`am start` reports an error on its output, with exit status 0 as the real one does).
"""
import json
import os
import shutil
import sys
from pathlib import Path

tool = Path(sys.argv[0]).name
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    env = {k: v for k, v in os.environ.items() if k.startswith("TEST_RUNNER_")}
    log.write(json.dumps({"tool": tool, "args": args, "env": env}) + "\n")
if os.environ.get("FAKE_FAIL") == tool:
    print(f"{tool}: simulated failure", file=sys.stderr)
    sys.exit(1)
results = os.environ.get("FAKE_RESULTS")
error = os.environ.get("FAKE_APP_ERROR")
state = Path(os.environ["FAKE_LOG"]).with_suffix(".runid")


def value(flag):
    return args[args.index(flag) + 1] if flag in args else None


if tool == "gradlew":
    apk = Path("app/build/outputs/apk/debug/app-debug.apk")
    apk.parent.mkdir(parents=True, exist_ok=True)
    apk.write_bytes(b"PK fake apk")
    print("BUILD SUCCESSFUL")
elif tool == "adb":
    if args[:1] == ["devices"]:
        print("List of devices attached")
        for line in filter(None, os.environ.get("FAKE_DEVICES", "").split(";")):
            print(line.replace(":", "\t"))
        sys.exit(0)
    cmd = args[2:]  # after -s SERIAL
    if cmd[:1] == ["install"]:
        print("Success")
    elif cmd[:3] == ["shell", "am", "start"]:
        if os.environ.get("FAKE_AM_ERROR"):
            print("Starting: Intent { cmp=org.distilkit.qa.app/.MainActivity }")
            print(f"Error: {os.environ['FAKE_AM_ERROR']}")
            sys.exit(0)
        state.write_text(cmd[cmd.index("run_id") + 1])
        print("Starting: Intent")
    elif cmd[:3] == ["shell", "run-as", "org.distilkit.qa.app"] and cmd[3] == "ls":
        rid = state.read_text()
        if results:
            print(f"bench-{rid}.json")
        if error:
            print(f"bench-{rid}.error.txt")
    elif cmd[:1] == ["exec-out"] and cmd[-1].endswith(".error.txt"):
        print(error)
    elif cmd[:1] == ["exec-out"]:
        sys.stdout.buffer.write(Path(results).read_bytes())
    elif cmd[:2] == ["shell", "pidof"]:
        if os.environ.get("FAKE_CRASH"):
            sys.exit(1)
        print("4242")
    elif cmd[:3] == ["shell", "getprop", "ro.product.model"]:
        print("Pixel 8")
    elif cmd[:5] == ["shell", "settings", "get", "global", "stay_on_while_plugged_in"]:
        print(os.environ.get("FAKE_STAY_ON", "0"))
elif tool == "xcodebuild":
    if "build" in args or "build-for-testing" in args:
        app = Path(value("-derivedDataPath")) / "Build/Products/Release-iphoneos/DistilKitQA.app"
        app.mkdir(parents=True, exist_ok=True)
    if "test-without-building" in args:
        state.write_text(os.environ.get("TEST_RUNNER_DISTILKIT_RUN_ID", ""))
        if os.environ.get("FAKE_XCTEST_FAIL"):
            print("** TEST EXECUTE FAILED **")
            sys.exit(65)
    print("** BUILD SUCCEEDED **")
elif tool == "xcrun":
    if args[:3] == ["devicectl", "list", "devices"]:
        Path(value("--json-output")).write_text(os.environ.get("FAKE_IOS_DEVICES", '{"result": {"devices": []}}'))
    elif args[:4] == ["devicectl", "device", "process", "launch"]:
        # Like devicectl: options before "--" are its own; the app's arguments follow the bundle id after it.
        own = args[4:args.index("--")] if "--" in args else args[4:]
        unknown = [a for a in own if a.startswith("--") and a not in ("--device", "--terminate-existing")]
        if unknown:
            print(f"Error: Unknown option '{unknown[0]}'", file=sys.stderr)
            sys.exit(64)
        app_args = args[args.index("--") + 2:]
        state.write_text(app_args[app_args.index("--run-id") + 1])
    elif args[:4] == ["devicectl", "device", "info", "processes"]:
        running = [] if os.environ.get("FAKE_CRASH") else [
            {"executable": "file:///private/var/containers/Bundle/Application/X/DistilKitQA.app/DistilKitQA",
             "processIdentifier": 4242}]
        Path(value("--json-output")).write_text(json.dumps({"result": {"runningProcesses": running}}))
    elif args[:4] == ["devicectl", "device", "copy", "from"]:
        src, dest = value("--source"), value("--destination")
        if src.endswith(".json") and results:
            shutil.copyfile(results, dest)
        elif src.endswith(".error.txt") and error:
            Path(dest).write_text(error + "\n")
        else:
            print(f"ERROR: file not found: {src}", file=sys.stderr)
            sys.exit(1)
