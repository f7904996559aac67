"""The lab stands without the benchmark: no module of lab/ imports bench; it reads the published run."""

from pathlib import Path

import pytest

from tests.layout import imported_modules

LAB = Path(__file__).resolve().parents[2] / "lab"


@pytest.mark.parametrize("path", sorted(LAB.rglob("*.py")), ids=lambda path: str(path.relative_to(LAB)))
def test_lab_module_does_not_import_the_benchmark(path):
    """No module of lab/ imports bench: the lab reads docs/benchmark/results.json instead."""
    assert "bench" not in imported_modules(path)


def test_the_check_sees_a_benchmark_import(tmp_path):
    """A module importing bench, at the top or inside a function, is caught; benchmark-like names are not."""
    module = tmp_path / "module.py"
    module.write_text(
        "import json\nimport benchmarks\nfrom lab import figures\n\n\n"
        "def verdict(ratio):\n    from bench.report import verdict_of\n\n    return verdict_of(ratio)\n"
    )
    assert imported_modules(module) == {"json", "benchmarks", "lab", "bench"}
    module.write_text("import bench.report as report\n")
    assert "bench" in imported_modules(module)
