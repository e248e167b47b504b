"""Run the pipeline once per seed, each seed in its own run and results folder, then write the report,
whose section over seeds gives mean, sd and range of the headline figures.

    python pipeline/seeds.py --seeds 0,1,2            # every stage a seed moves, for seeds 0, 1 and 2
    python pipeline/seeds.py --seeds 0,1,2 --plan     # what would run, per seed and stage; nothing runs
    python pipeline/seeds.py --seeds 3 --qa.distil_lr 2e-4

Seed N runs in <run folder>-seedN (runs/demo-seed1) and writes results/seeds/seedN/; the report goes to
results/REPORT.md. Each seed goes through build_all's own runner, so a re-run skips what is current and resumes
what was cut off. A stage that reads no seed (the corpus) is run once and shared: its outputs are linked
from any seed's folder (or the plain run folder) whose manifest holds it under the same fingerprint.
"""
from __future__ import annotations

import sys
from pathlib import Path

from pipeline import report
from pipeline.build_all import STAGES, guarded, run_stages, select
from pipeline.config import UserError, build_parser, from_args, load
from pipeline.core.runs import Run, check_writable, log

# apps copies one run's models into the shared apps, so seeds would overwrite each other's; the report runs
# once over every seed at the end.
NOT_PER_SEED = ("apps", "report")
SEED_STAGES = [s.name for s in STAGES if s.name not in NOT_PER_SEED]


def _extra(parser):
    parser.add_argument("--seeds", required=True, metavar="LIST",
                        help="comma-separated seeds (integers >= 0), e.g. 0,1,2; each is run.seed of one run")
    parser.add_argument("--stages", default=",".join(SEED_STAGES),
                        help=f"comma-separated stages to run per seed, in pipeline order (not {', '.join(NOT_PER_SEED)})")
    parser.add_argument("--force", action="store_true", help="run the chosen stages even if their outputs are current")
    parser.add_argument("--plan", action="store_true", help="print what each seed would run or skip, run nothing")


def parse_seeds(spec: str) -> list[int]:
    parts = [p.strip() for p in spec.split(",")]
    if not all(p.isdigit() for p in parts):
        raise UserError(f"--seeds: '{spec}' is not a comma-separated list of integers >= 0 (e.g. 0,1,2)")
    seeds = [int(p) for p in parts]
    if len(set(seeds)) != len(seeds):
        raise UserError(f"--seeds: '{spec}' names a seed twice")
    return seeds


def seed_configs(args) -> tuple[object, dict]:
    """(the base config, {seed: that seed's config}): the same preset and options, run.seed and the folders
    changed, each loaded and checked by config.load as build_all's would be."""
    overrides = {k: v for k, v in vars(args).items() if "." in k}
    if "run.seed" in overrides:
        raise UserError("--run.seed is set per seed by --seeds; leave it out")
    seeds = parse_seeds(args.seeds)
    base = from_args(args)
    results = Path(base.run.results_dir)
    return base, {n: load(args.preset, {**overrides, "run.seed": n, "run.run_dir": f"{base.run_dir}-seed{n}",
                                        "run.results_dir": str(results / report.SEEDS_DIR / f"seed{n}")})
                  for n in seeds}


def choose_stages(spec: str) -> list:
    stages = select(spec)
    bad = [s.name for s in stages if s.name in NOT_PER_SEED]
    if bad:
        raise UserError(f"--stages: {', '.join(bad)} does not run per seed ({', '.join(NOT_PER_SEED)} do not: apps "
                        f"would overwrite one seed's models with the next, the report covers every seed at the end)")
    return stages


def donors(base, cfgs: dict, seed: int) -> list[Run]:
    """Run folders a seed-free stage may be shared from: the plain run folder and the other seeds'."""
    return [Run(c) for c in [base] + [c for n, c in cfgs.items() if n != seed] if (c.run_dir / "manifest.json").exists()]


def plan_seed(run: Run, stages: list, donor_runs: list[Run], force: bool, pending: dict) -> dict:
    """{stage: (fate, where from, known)} for one seed's folder: fate 'current', 'share' or 'run'; known: its
    record is there before the run starts, so the stages after it can be keyed now. pending holds the seed-free
    stages that earlier seeds of this call will run ({(stage, key): folder}), which this seed shares once they
    have. Only the in-memory manifest changes (a shared stage's record); a stage whose needs have not run and
    are not chosen stops the plan with build_all's own error."""
    fates = {}
    for stage in stages:
        if force or stage.always or any(not fates[n][2] for n in stage.needs if n in fates):
            fates[stage.name] = ("run", "", False)
            continue
        key = run.fingerprint(stage)
        donor = None if stage.seeded else next((d for d in donor_runs if d.is_current(stage, key)), None)
        if run.is_current(stage, key):
            fates[stage.name] = ("current", "", True)
        elif donor is not None:
            run.manifest["stages"][stage.name] = donor.record(stage.name)
            fates[stage.name] = ("share", str(donor.dir), True)
        elif (stage.name, key) in pending:
            fates[stage.name] = ("share", f"{pending[(stage.name, key)]} once it has run", False)
        else:
            fates[stage.name] = ("run", "", False)
            if not stage.seeded:
                pending[(stage.name, key)] = str(run.dir)
    return fates


def plan(base, cfgs: dict, stages: list, force: bool) -> dict:
    """{seed: plan_seed's fates}, seeds in the order given (the order they run in)."""
    pending = {}
    return {n: plan_seed(Run(c), stages, donors(base, cfgs, n), force, pending) for n, c in cfgs.items()}


def plan_line(seed: int, cfg, fates: dict) -> str:
    parts = []
    for fate, what in (("current", "current"), ("share", "shared"), ("run", "to run")):
        names = [s + (f" from {f[1]}" if fate == "share" else "") for s, f in fates.items() if f[0] == fate]
        if names:
            parts.append(f"{what}: {', '.join(names)}")
    return f"seed {seed} ({cfg.run_dir}): " + "; ".join(parts)


def share_seed_free(run: Run, stages: list, donor_runs: list[Run], force: bool) -> None:
    """Link in each seed-free stage that is not current here but is, under the same key, in another folder."""
    for stage in stages:
        if stage.seeded or force or any(run.record(n) is None for n in stage.needs):
            continue
        if not run.is_current(stage, run.fingerprint(stage)):
            donor = next((d for d in donor_runs if run.adopt(stage, d)), None)
            if donor is not None:
                log(f"== {stage.name}: shared from {donor.dir} (it reads no seed: same fingerprint, same outputs)")


def run_seeds(base, cfgs: dict, stages: list, plans: dict, force: bool) -> list[tuple]:
    """Each seed in turn through build_all's runner: [(seed, run folder, stages ran, skipped, wall s)]."""
    done = []
    for i, (n, cfg) in enumerate(cfgs.items(), 1):
        head = f"== seed {n} ({i} of {len(cfgs)})"
        if all(f[0] == "current" for f in plans[n].values()):
            log(f"{head}: every stage current in {cfg.run_dir}")
            done.append((n, cfg.run_dir, 0, len(stages), 0.0))
            continue
        log(f"{head}: run folder {cfg.run_dir}, results {cfg.run.results_dir}")
        run = Run(cfg)
        try:
            share_seed_free(run, stages, donors(base, cfgs, n), force)
            timings = run_stages(run, stages, force)
        except UserError as e:
            raise UserError(f"seed {n}: {e} (finished seeds and stages are kept; run the same command to "
                            f"resume)") from None
        ran = [t for t in timings if t[1] == "ran"]
        done.append((n, cfg.run_dir, len(ran), len(timings) - len(ran), sum(t[2] for t in timings)))
    return done


def main(argv=None) -> int:
    parser = build_parser("seeds.py", __doc__.split("\n\n")[0], _extra)
    args = parser.parse_args(argv)
    def body():
        base, cfgs = seed_configs(args)
        stages = choose_stages(args.stages)
        plans = plan(base, cfgs, stages, args.force)
        for n, fates in plans.items():
            print(plan_line(n, cfgs[n], fates), flush=True)
        if args.plan:
            return None
        for cfg in cfgs.values():
            check_writable(cfg.run_dir, "run.run_dir")
            check_writable(cfg.run.results_dir, "run.results_dir")
        done = run_seeds(base, cfgs, stages, plans, args.force)
        results = Path(base.run.results_dir)
        return done, results, report.build(results, results)
    code, finished = guarded(body, "finished seeds and stages are kept")
    if code or finished is None:
        return code
    done, results, m = finished
    print(f"\n{'seed':5s} {'run folder':28s} {'ran':>4s} {'skipped':>8s} wall time")
    for n, folder, ran, skipped, wall in done:
        print(f"{n:<5d} {str(folder):28s} {ran:4d} {skipped:8d} {wall / 60:6.1f} min")
    print(f"report over seeds {', '.join(map(str, m['seeds'])) or '(none)'}: {results / 'REPORT.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
