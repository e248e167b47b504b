"""What the Android and iOS device drivers share: tools, timed commands, waiting, and
checking the results file a phone wrote before it joins results/device/."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from pipeline.config import UserError  # noqa: E402
from pipeline.core import results  # noqa: E402
from pipeline.core.runs import REPO  # noqa: E402
from pipeline.devices.accuracy import STAGED_NAME  # noqa: E402


class DeviceError(Exception):
    """The build, the device or the app failed: reported as one line, exit 1."""


def need_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if not path:
        raise UserError(f"{name} not found on PATH ({hint})")
    return path


def run(cmd: list, what: str, timeout: float, cwd=None, env=None, check: bool = True) -> subprocess.CompletedProcess:
    """Run a tool; a timeout or a failure becomes a DeviceError naming the step and the tool's last words."""
    try:
        res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DeviceError(f"{what} did not finish within {timeout:g} s") from None
    except OSError as e:
        raise DeviceError(f"{what}: cannot run {cmd[0]} ({e.strerror})") from None
    if check and res.returncode != 0:
        raise DeviceError(f"{what} failed (exit {res.returncode}): {last_line(res)}")
    return res


def last_line(res: subprocess.CompletedProcess) -> str:
    for stream in (res.stderr, res.stdout):
        lines = [ln.strip() for ln in stream.decode(errors="replace").splitlines() if ln.strip()]
        if lines:
            return lines[-1][:300]
    return "no output"


def wait_for(probe, timeout: float, poll: float, what: str):
    """Call probe() until it returns something other than None, or raise after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got is not None:
            return got
        if time.monotonic() >= deadline:
            raise DeviceError(f"{what} within {timeout:g} s")
        time.sleep(poll)


def run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def accept_results(raw: bytes, origin: str, out_dir: Path, stem: str) -> Path:
    """Parse, validate against the shared benchmark schema, then write results/device/<stem>.json."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DeviceError(f"results file {origin} from the device is not valid JSON ({e})") from None
    from pipeline.core import results_schema
    problems = results_schema.validate(obj)
    if not problems and (obj.get("kind") != "benchmark" or obj.get("source") != "device"):
        problems = [f"expected kind 'benchmark' and source 'device', got {obj.get('kind')!r}/{obj.get('source')!r}"]
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DeviceError(f"results file {origin} from the device does not match the benchmark schema: "
                          f"{problems[0]}{more}")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{safe(stem)}.json"
    results.write(path, obj)
    return path


def safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "device"


def _bytes(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size


def staged_models(folder: Path, copies: int = 1) -> str:
    """One line on what the app build will carry; a UserError when nothing is staged (a build would be wasted).

    copies: how many times the phone holds the models (Android: the APK's assets and the app's copy)."""
    sidecars = sorted(p for p in folder.glob("*.json") if p.name != STAGED_NAME) if folder.is_dir() else []
    if not sidecars:
        raise UserError(f"no models staged in {folder}: run python pipeline/build_all.py --stages apps first")
    total = sum(_bytes(p) for p in folder.iterdir() if p.name != "README.md")
    line = f"staged: {len(sidecars)} model(s), {total / 1e6:.1f} MB in {folder}"
    if copies > 1:
        line += f" (about {copies * total / 1e6:.0f} MB on the phone: the APK and the app's copy)"
    staged = staged_question_set(folder)
    line += (f"; the app answers the {staged[1]} {staged[0]} questions after timing" if staged
             else "; no question set staged (apps.questions none): latency only")
    return line


def staged_question_set(folder: Path) -> tuple[str, int] | None:
    """(name, questions) of the question set staged beside the models, None when none is."""
    try:
        obj = json.loads((folder / STAGED_NAME).read_text())
        return obj["question_set"], len(obj["questions"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def summary(path: Path, staged_folder: Path | None = None) -> str:
    """What the phone measured; staged_folder: the app's model folder, whose question set the results should hold."""
    obj = json.loads(path.read_text())
    lines = [f"{obj['device']['name']} ({obj['device']['os']}): {len(obj['entries'])} model(s) -> {path}"]
    for e in obj["entries"]:
        s = e["stats"]
        lines.append(f"  {e['runtime']:<11} {e['model']:<10} {e['precision']:<5} L={e['seq_len']:<4} "
                     f"median {s['median_ms']:.1f} ms  p90 {s['p90_ms']:.1f} ms  load {e['load_ms']:.0f} ms")
    lines += accuracy_lines(obj.get("accuracy"), staged_question_set(staged_folder) if staged_folder else None)
    for f in obj.get("failures", []):
        lines.append(f"  not run: {f}")
    return "\n".join(lines)


def accuracy_lines(block: dict | None, staged: tuple[str, int] | None) -> list[str]:
    """The phone's EM / F1, and a warning when they are not of the question set staged now."""
    if block is None:
        return [f"  no accuracy: {staged[0]} is staged but the app answered no questions (built before it was "
                "staged? build without --skip-build)"] if staged else []
    lines = [f"  accuracy on {block['questions']} {block['question_set']} questions (F1 per window length; the app's "
             "window choice):"]
    if staged and staged != (block["question_set"], block["questions"]):
        lines.append(f"  warning: {staged[1]} {staged[0]} questions are staged now: the app was built before")
    for e in block["entries"]:
        per = "  ".join(f"L={x['seq_len']} {x['f1']:.1f}" for x in e["lengths"])
        lines.append(f"  {e['runtime']:<11} {e['model']:<10} {e['precision']:<5} {per}  app {e['window_choice']['f1']:.1f}")
    return lines


def _common_inputs(p) -> None:
    p.add_argument("--skip-build", action="store_true", help="install the app built last time")
    p.add_argument("--run-id", default="", help="names the results file (default: UTC time)")
    p.add_argument("--out", default=str(REPO / "results" / "device"), help="where the results file goes")


def parse_args(prog: str, description: str, inputs, argv):
    """A driver's command line: its own inputs (project, phone, signing), then Config: `--preset`
    (whose teacher and corpus the results record) and the [phone] section's `--phone.*` settings."""
    from pipeline.config import build_parser, from_args
    parser = build_parser(prog, description, lambda p: (inputs(p), _common_inputs(p)), sections=("phone",))
    args = parser.parse_args(argv)
    cfg = from_args(args)
    vars(args).update(cfg.section("phone"), preset=Path(cfg.preset).stem, teacher=cfg.teacher.model,
                      corpus=",".join(cfg.corpus.source))
    return args


def main_guard(body, argv) -> int:
    try:
        print(body(argv))
        return 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except DeviceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
