"""Benchmark the iOS app on a connected iPhone/iPad and bring the results home (needs a Mac).

    python pipeline/devices/device_ios.py --team ABCDE12345                 # build, install, launch, copy back, validate
    python pipeline/devices/device_ios.py --team ABCDE12345 --xctest        # run the benchmark as an XCTest instead
    python pipeline/devices/device_ios.py --team ABCDE12345 --device 00008110-... --bundle-id com.example.qa

Builds mobile/ios/DistilKitQA.xcodeproj with xcodebuild for the device, signed by your team
(--team) under a bundle id of yours (--bundle-id, default org.distilkit.qa.<team>), then either installs
and launches the app with `--benchmark` (xcrun devicectl) or runs BenchmarkTests through
`xcodebuild test-without-building`; waits for Documents/distilkit/bench-<run id>.json in the
app's container, copies it back with devicectl, validates it against the shared benchmark
schema and writes results/device/ios-*.json (timings and, when a question set is staged, the
accuracy block: EM / F1 the app reached on it). Stage the models first:
python pipeline/build_all.py --stages apps.
"""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

from pipeline.config import UserError  # noqa: E402
from pipeline.devices.device_common import (DeviceError, accept_results, last_line, main_guard, need_tool,  # noqa: E402
                                            parse_args, run, run_id, staged_models, summary, wait_for)
from pipeline.core.runs import REPO  # noqa: E402

SCHEME = "DistilKitQA"
# The scheme's test action builds Release too: benchmarks time optimised code.
CONFIGURATION = "Release"
TEAM_HELP = ("the Apple development team id that signs the app: 10 letters and digits, shown in Xcode > "
             "Settings > Accounts or at developer.apple.com > Account > Membership details")


def pick_device(xcrun: str, wanted: str, tmp: Path) -> tuple[str, str, str]:
    """(devicectl identifier, hardware UDID for xcodebuild, name) of the one usable device."""
    listing = tmp / "devices.json"
    run([xcrun, "devicectl", "list", "devices", "--json-output", listing], "xcrun devicectl list devices", 120)
    try:
        devices = json.loads(listing.read_text())["result"]["devices"]
    except (OSError, ValueError, KeyError, TypeError):
        raise DeviceError("xcrun devicectl list devices wrote no readable device list") from None
    usable = []
    for d in devices:
        props, hw = d.get("deviceProperties", {}), d.get("hardwareProperties", {})
        conn = d.get("connectionProperties", {})
        if hw.get("platform") in ("iOS", "iPadOS") and conn.get("tunnelState") != "unavailable":
            usable.append((d.get("identifier", ""), hw.get("udid", ""), props.get("name", "iOS device")))
    if wanted:
        for ident, udid, name in usable:
            if wanted in (ident, udid, name):
                return ident, udid or ident, name
        raise UserError(f"device {wanted} is not connected (connected: {', '.join(u[2] for u in usable) or 'none'})")
    if not usable:
        raise UserError("no iPhone or iPad connected (xcrun devicectl list devices shows none available); "
                        "connect one, unlock it and trust this Mac")
    if len(usable) > 1:
        raise UserError(f"{len(usable)} devices connected ({', '.join(u[2] for u in usable)}); choose one with --device")
    ident, udid, name = usable[0]
    return ident, udid or ident, name


def signing(args) -> tuple[str, str]:
    """(team, bundle id): automatic signing needs a team, and a bundle id no other team registered."""
    team = args.team.strip()
    if not team:
        raise UserError(f"--team is required: {TEAM_HELP}")
    if not re.fullmatch(r"[A-Z0-9]{10}", team):
        raise UserError(f"--team {team!r} is not a team id ({TEAM_HELP})")
    bundle = args.bundle_id.strip() or f"org.distilkit.qa.{team}"
    if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", bundle):
        raise UserError(f"--bundle-id {bundle!r} is not a bundle id (letters, digits, '-', dot-separated: com.example.qa)")
    return team, bundle


def xcodebuild_args(args, udid: str, derived: Path, team: str, bundle: str) -> list:
    return ["xcodebuild", "-project", args.project, "-scheme", SCHEME, "-configuration", CONFIGURATION,
            "-destination", f"id={udid}", "-derivedDataPath", derived, "-allowProvisioningUpdates",
            f"DEVELOPMENT_TEAM={team}", f"DISTILKIT_BUNDLE_ID={bundle}"]


def app_running(xcrun: str, device: str, tmp: Path) -> bool:
    """Whether the app's process is listed on the device (devicectl device info processes); True when
    the listing itself fails, so that only a process seen to be gone counts as a crash."""
    listing = tmp / "processes.json"
    res = run([xcrun, "devicectl", "device", "info", "processes", "--device", device, "--json-output", listing],
              "listing the device's processes", 60, check=False)
    if res.returncode != 0 or not listing.is_file():
        return True
    return f"{SCHEME}.app/{SCHEME}" in listing.read_text(errors="replace")


def benchmark(args) -> str:
    project = Path(args.project)
    if not (project / "project.pbxproj").is_file():
        raise UserError(f"{project} is not an Xcode project (no project.pbxproj)")
    team, bundle = signing(args)
    xcrun = need_tool("xcrun", "install Xcode on a Mac")
    need_tool("xcodebuild", "install Xcode on a Mac")
    derived = Path(args.derived_data)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        device, udid, name = pick_device(xcrun, args.device, tmp)
        if not args.skip_build:
            print(staged_models(project.parent / SCHEME / "Models"), flush=True)
            action = "build-for-testing" if args.xctest else "build"
            run(xcodebuild_args(args, udid, derived, team, bundle) + [action], f"the iOS build (xcodebuild {action})",
                args.build_timeout)
        rid = args.run_id or run_id()
        options = {"RUN_ID": rid, "WARMUP": args.warmup, "ITERS": args.iters, "PRESET": args.preset,
                   "TEACHER": args.teacher, "CORPUS": args.corpus}
        tested = _launch(args, xcrun, device, xcodebuild_args(args, udid, derived, team, bundle), bundle, options)
        raw = _results(args, xcrun, device, bundle, rid, tmp, tested)
    return summary(accept_results(raw, f"bench-{rid}.json", Path(args.out), f"ios-{name}-{rid}"),
                   project.parent / SCHEME / "Models")


def _launch(args, xcrun: str, device: str, build_args: list, bundle: str, options: dict):
    """Start the benchmark: as an XCTest (waited for; its result returned) or as the installed app (None)."""
    if args.xctest:
        # xcodebuild hands TEST_RUNNER_X to the test process as X; the test waits for itself. A failed
        # test is read after the app's error file, which says why better than xcodebuild's last line.
        env = dict(os.environ, **{f"TEST_RUNNER_DISTILKIT_{k}": str(v) for k, v in options.items()})
        return run(build_args + ["test-without-building"], "the benchmark XCTest", args.timeout, env=env, check=False)
    app = Path(args.derived_data) / "Build" / "Products" / f"{CONFIGURATION}-iphoneos" / f"{SCHEME}.app"
    if not app.is_dir():
        raise UserError(f"no built app at {app}; build without --skip-build first")
    run([xcrun, "devicectl", "device", "install", "app", "--device", device, app], "installing the app", 600)
    flags = [x for k, v in options.items() for x in (f"--{k.lower().replace('_', '-')}", str(v))]
    # "--" ends devicectl's own options: without it, it takes --benchmark --run-id ... as its own.
    run([xcrun, "devicectl", "device", "process", "launch", "--device", device, "--terminate-existing",
         "--", bundle, "--benchmark", *flags], "launching the benchmark", 120)
    return None


def _results(args, xcrun: str, device: str, bundle: str, rid: str, tmp: Path, tested) -> bytes:
    """The app's results file: its error file first (it says why), then the JSON; a crash is noticed from the
    device's process list rather than by waiting out the timeout."""
    def fetch(suffix: str) -> bytes | None:
        dest = tmp / f"bench-{rid}{suffix}"
        res = run([xcrun, "devicectl", "device", "copy", "from", "--device", device, "--domain-type",
                   "appDataContainer", "--domain-identifier", bundle, "--source",
                   f"Documents/distilkit/bench-{rid}{suffix}", "--destination", dest],
                  "copying from the device", 120, check=False)
        return dest.read_bytes() if res.returncode == 0 and dest.is_file() else None

    gone = [0]

    def finished():
        err = fetch(".error.txt")
        if err is not None:
            line = err.decode(errors="replace").strip().splitlines()
            raise DeviceError(f"the app could not run the benchmark: {line[0] if line else 'no message'}")
        got = fetch(".json")
        if got is not None or args.xctest:
            return got
        gone[0] = 0 if app_running(xcrun, device, tmp) else gone[0] + 1
        if gone[0] >= 3:
            raise DeviceError("the app stopped without writing results (crashed? see Xcode > Window > Devices "
                              "and Simulators > View Device Logs)")
        return None

    if not args.xctest:
        return wait_for(finished, args.timeout, args.poll,
                        f"the app wrote no bench-{rid}.json (did it crash? see Xcode > Devices > device logs)")
    raw = finished()
    if raw is None:
        raise DeviceError(f"the benchmark XCTest {'failed: ' + last_line(tested) if tested.returncode else 'passed'}"
                          f" but the app wrote no bench-{rid}.json")
    return raw


def _inputs(p) -> None:
    p.add_argument("--project", default=str(REPO / "mobile" / "ios" / "DistilKitQA.xcodeproj"), help="the Xcode project")
    p.add_argument("--device", default="", help="devicectl identifier, UDID or name (needed when several are connected)")
    p.add_argument("--team", default="", help=f"required: {TEAM_HELP}")
    p.add_argument("--bundle-id", default="", help="bundle id to sign and install the app under "
                                                   "(default: org.distilkit.qa.<team>)")
    p.add_argument("--xctest", action="store_true", help="run the benchmark as an XCTest (xcodebuild test)")
    p.add_argument("--derived-data", default=str(REPO / "mobile" / "ios" / "build"), help="xcodebuild derived data")


def main(argv=None) -> int:
    return main_guard(lambda a: benchmark(parse_args("device_ios.py", __doc__.split("\n\n")[0], _inputs, a)), argv)


if __name__ == "__main__":
    sys.exit(main())
