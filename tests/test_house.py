"""The house rules of pipeline/ (issue 14), checked on the source so that they cannot drift."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PKG = REPO / "pipeline"


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = p
    return out


def _imports(path: Path, modules: dict) -> set[str]:
    """Every pipeline module a file imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for name in names:
            # `from pipeline.x import y`: y is a module or a name defined in pipeline.x
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name.startswith("pipeline.") and name not in ("pipeline",):
                found.add(name)
    return found


def test_no_import_cycles():
    modules = _modules()
    graph = {m: _imports(p, modules) - {m} for m, p in modules.items()}
    state, cycles = {}, []

    def visit(m, stack):
        state[m] = "open"
        for n in sorted(graph.get(m, ())):
            if state.get(n) == "open":
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_sys_path_tricks():
    offenders = [str(p.relative_to(REPO)) for p in PKG.rglob("*.py") if "sys.path" in p.read_text()]
    assert not offenders, offenders


def test_registry_is_consistent_with_the_runners_and_apps():
    from pipeline.core import registry
    from pipeline.export import runtimes
    artifacts = {f.artifact for f in registry.FORMATS.values()}
    assert all(set(f.precisions) <= set(registry.PRECISIONS) for f in registry.FORMATS.values())
    for rt in registry.RUNTIMES.values():
        if rt.artifact is not None:
            assert rt.artifact in artifacts and rt.name in runtimes.RUNNERS, rt
    for app, pairs in registry.APPS.items():
        assert pairs <= artifacts, app
    assert set(runtimes.RUNNERS) <= set(registry.RUNTIMES)


def test_no_function_over_60_lines():
    """Long functions hide what a stage does; 60 lines is the house limit (issue 14)."""
    long = []
    for p in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > 60:
                    long.append(f"{p.relative_to(REPO)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, long


def test_console_entry_points_resolve():
    import importlib
    import tomllib
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"distilkit-build", "distilkit-report"} <= set(scripts)
    for name, target in scripts.items():
        module, _, func = target.partition(":")
        assert callable(getattr(importlib.import_module(module), func)), name


# The whole of core sits below config (config refuses names the registry does not list, and re-exports
# core's UserError and StageView): no module of core imports config, so the two packages form no cycle.
LAYERS = ["pipeline.quiet", "pipeline.core", "pipeline.config", "pipeline.data", "pipeline.training",
          "pipeline.export", "pipeline.bench", "pipeline.devices", "pipeline.ask", "pipeline.reporting",
          "pipeline.report", "pipeline.build_all", "pipeline.seeds"]
# bench_distill times the real distillation on a run folder, whose first stages it runs through
# the pipeline's own stage table.
ALLOWED_UPWARD = {("pipeline.bench.bench_distill", "pipeline.build_all")}


def test_imports_run_one_way_through_the_layers():
    def layer(module):
        return next(i for i, prefix in enumerate(LAYERS) if module == prefix or module.startswith(prefix + "."))

    modules = _modules()
    upward = [f"{m} -> {n}" for m, p in modules.items() if m != "pipeline"
              for n in sorted(_imports(p, modules)) if layer(n) > layer(m) and (m, n) not in ALLOWED_UPWARD]
    assert not upward, upward


def test_no_cycle_between_packages():
    """Module cycles are caught above; this catches the package-level kind (core -> config -> core.registry)."""
    modules = _modules()

    def package(m):
        parts = m.split(".")
        return ".".join(parts[:2])

    edges = {(package(m), package(n)) for m, p in modules.items() for n in _imports(p, modules)
             if package(m) != package(n)}
    both_ways = sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges and a < b)
    assert not both_ways, both_ways
