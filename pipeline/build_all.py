"""DistilKit: distil a BERT-style teacher into a DistilBERT student, fine-tune both for QA,
export them for phones, benchmark them and write the report, as one resumable pipeline.

    python pipeline/build_all.py                      # the embedded offline demo
    python pipeline/build_all.py --preset paper       # bert-base-uncased on Wikipedia + BookCorpus
    python pipeline/build_all.py --stages distill --distill.lr 3e-4
"""
from __future__ import annotations

import os
import sys

from pipeline.config import UserError, build_parser, from_args
from pipeline.core.runs import Run, Stage, check_writable, log


def fields(section: str, names: str) -> tuple:
    """Single fields of one section, as a stage's `sections` entries ('export.seq_lens', ...)."""
    return tuple(f"{section}.{n}" for n in names.split())


# A stage's fingerprint covers the fields it reads, so an option re-runs only the stages that read it: a parity
# gate re-runs parity and not the export, a fine-tuning option qa_finetune and not qa_data. StageView refuses any
# read a stage does not declare (UndeclaredConfigRead), which keeps these lists complete.
QA_DATA_READS = fields("qa", "train_source dev_source on_bad_example train_examples dev_examples questions "
                             "natural_train extra_examples augment_share augment_from prose_questions "
                             "augment_mask_prob augment_ngram_prob")
EXPORT_READS = fields("export", "models formats seq_lens precisions calibration_windows calibration_observer "
                                "int8_embeddings int8_keep_float int8_static_keep_float int8_search "
                                "int8_search_budget_s int8_search_windows int8_max_f1_drop "
                                "int8_max_f1_drop_handwritten int4_group_size int4_scheme int4_qat_epochs "
                                "int4_qat_lr") + \
    fields("qa", "max_query_length doc_stride max_answer_length n_best") + \
    fields("qa", "max_seq_length batch_size warmup_frac group_by_length temperature checkpoint_every") + \
    ("run.precision",)  # the window and the search's gate; then what the int4 files' QAT training reads
PARITY_READS = fields("export", "parity_examples max_abs_diff_fp32 min_agreement_quantized int8_max_f1_drop "
                                "int8_max_f1_drop_handwritten") + fields("qa", "n_best")

STAGES = [
    Stage("corpus", "pipeline.data.corpus:run", ("corpus", "teacher.model"), (),
          "read, tokenize, filter and split the corpus", seeded=False),
    Stage("teacher", "pipeline.training.teacher:run", ("teacher", "run.precision"), ("corpus",),
          "load the teacher, fit its MLM head when untrained, evaluate it"),
    Stage("student_init", "pipeline.training.student_init:run", ("student",), ("teacher",),
          "build the half-depth DistilBERT student from teacher layers"),
    Stage("distill", "pipeline.training.distill:run", ("distill", "run.precision"), ("corpus", "teacher", "student_init"),
          "triple-loss distillation, evaluated on the held-out split", distributed=True),
    Stage("classify", "pipeline.training.classify:run", ("classify", "run.precision"), ("teacher", "distill"),
          "fine-tune teacher and distilled student on classification tasks (paper Tables 1 and 2), GLUE metrics"),
    Stage("qa_data", "pipeline.data.qa_data:run", QA_DATA_READS, ("corpus",),
          "SQuAD-format QA data: generated cloze questions, hand-written questions or SQuAD"),
    Stage("ablation", "pipeline.training.ablation:run",
          ("distill", "ablation", "student", "qa", "classify", "run.precision"),
          ("corpus", "teacher", "student_init", "qa_data"),
          "Table 4 variants of the distillation loss, several seeds, masked-LM and short-QA scores",
          distributed=True),
    Stage("qa_finetune", "pipeline.training.qa_finetune:run", ("qa", "run.precision"), ("teacher", "distill", "qa_data"),
          "fine-tune teacher and student for QA, then the student (D) with QA distillation"),
    Stage("export", "pipeline.export.export:run", EXPORT_READS, ("qa_finetune", "qa_data"),
          "Core ML, ExecuTorch and LiteRT artifacts with JSON sidecars"),
    Stage("parity", "pipeline.export.parity:run", PARITY_READS, ("export", "qa_data", "qa_finetune"),
          "run each host-runnable artifact against PyTorch on the QA dev set"),
    Stage("bench_host", "pipeline.bench.bench_host:run", ("bench",), ("export", "qa_finetune"),
          "host latency, load time, memory and size per runtime"),
    Stage("apps", "pipeline.devices.stage_apps:run", ("apps",), ("export", "parity", "qa_data"),
          "copy artifacts, sidecars, vocabulary and the question set into the iOS and Android apps"),
    Stage("report", "pipeline.report:run_stage", (), (),
          "plots and results/REPORT.md from everything under results/", always=True),
]
BY_NAME = {s.name: s for s in STAGES}


def _extra(parser):
    names = ", ".join(BY_NAME)
    parser.add_argument("--stages", default="all",
                        help=f"comma-separated stages to run, in pipeline order ({names}); 'all' runs every one")
    parser.add_argument("--force", action="store_true", help="run the chosen stages even if their outputs are current")
    parser.add_argument("--list", action="store_true", help="list the stages and exit")


def select(spec: str) -> list[Stage]:
    if spec == "all":
        return list(STAGES)
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [w for w in wanted if w not in BY_NAME]
    if unknown or not wanted:
        raise UserError(f"unknown stage(s) {', '.join(unknown) or '(none given)'}; stages are: {', '.join(BY_NAME)}")
    return [s for s in STAGES if s.name in wanted]


def _report_after_failure(run: Run, stages: list[Stage], failed: Stage) -> None:
    """A failed stage still leaves a report of what exists (it lists what is missing)."""
    if failed.name == "report" or BY_NAME["report"] not in stages:
        return
    log(f"== report: {failed.name} failed; writing the report from the results that exist")
    try:
        run.execute(BY_NAME["report"])
    except UserError as e:
        log(f"report: not written ({e})")


def _close_bars() -> None:
    """Finish the progress bars a stage stopped by an error left open, so the error gets a line of its own."""
    from tqdm import tqdm
    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


def guarded(body, kept: str) -> tuple[int, object]:
    """(0, body()), or the exit code after one error line: 2 for bad input (UserError), 130 for Ctrl-C; kept says
    what an interrupted run keeps."""
    try:
        return 0, body()
    except UserError as e:
        _close_bars()
        print(f"error: {e}", file=sys.stderr)
        return 2, None
    except KeyboardInterrupt:
        print(f"interrupted: {kept}; run the same command to resume", file=sys.stderr)
        return 130, None


def run_stages(run: Run, stages: list[Stage], force: bool = False) -> list[tuple[str, str, float]]:
    """Run (or skip) the stages in order on one run folder: [(stage, 'ran'|'skipped', wall s)]. The one
    loop behind build_all and pipeline/seeds.py; a failed stage raises after writing the report it can."""
    cfg = run.cfg
    if cfg.run.threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(cfg.run.threads))
    from pipeline.training.hardware import precision_line
    log(precision_line(cfg))
    timings = []
    for stage in stages:
        log(f"== {stage.name}: {stage.help}")
        try:
            status, wall = run.execute(stage, force=force)
        except UserError:
            _report_after_failure(run, stages, stage)
            raise
        log(f"== {stage.name}: {status}" + (f" in {wall:.1f} s" if status == "ran" else " (outputs current)"))
        timings.append((stage.name, status, wall))
    return timings


def main(argv=None) -> int:
    parser = build_parser("build_all.py", __doc__.split("\n\n")[0], _extra)
    args = parser.parse_args(argv)
    if args.list:
        for s in STAGES:
            print(f"{s.name:13s} {s.help}")
        return 0
    def body():
        cfg = from_args(args)
        stages = select(args.stages)
        check_writable(cfg.run_dir, "run.run_dir")
        check_writable(cfg.run.results_dir, "run.results_dir")
        return cfg, run_stages(Run(cfg), stages, args.force)
    code, done = guarded(body, "finished stages are kept")
    if code:
        return code
    cfg, timings = done
    from pipeline.core import distributed
    if not distributed.is_main():
        return 0
    print(f"\nrun folder: {cfg.run_dir}")
    print(f"{'stage':13s} {'status':8s} wall time")
    for name, status, wall in timings:
        print(f"{name:13s} {status:8s} {wall / 60:6.1f} min")
    print(f"{'total':13s} {'':8s} {sum(t[2] for t in timings) / 60:6.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
