"""The packages are layers, each importing only packages below it (docs/ARCHITECTURE.md, Layering), and
the modules that run on workers import TensorFlow only when they load a model."""
import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# A package imports only packages of a lower layer; two packages of one layer never import each other.
LAYERS = {"core": 0, "transforms": 1, "synthetic": 1, "models": 2, "serving": 3, "pipelines": 4, "benchmarks": 5,
          "tests": 6}
# Imported by Beam workers (DoFns, the model handler) or by every command at start-up.
TENSORFLOW_FREE = ("core.features", "core.runs", "core.results", "core.dead_letters", "core.storage", "core.inputs",
                   "core.config", "transforms.image", "transforms.descriptors", "models.boosted", "models.run",
                   "models.inference", "pipelines.sources", "pipelines.ingest", "pipelines.label", "pipelines.labelling",
                   "pipelines.streaming", "pipelines.pubsub")


def first_party_imports(path: pathlib.Path) -> list[tuple[str, int]]:
    """(package, line) of every absolute import of a package in LAYERS, at any depth (lazy imports too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        found += [(module.split(".")[0], node.lineno) for module in modules if module.split(".")[0] in LAYERS]
    return found


def test_every_package_has_a_layer():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages == set(LAYERS)


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_a_package_imports_only_the_layers_below_it(package):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {imported} (layer {LAYERS[imported]})"
        for path in sorted((ROOT / package).rglob("*.py"))
        for imported, line in first_party_imports(path)
        if imported != package and LAYERS[imported] >= LAYERS[package]
    ]
    assert not wrong, f"{package} is layer {LAYERS[package]}:\n" + "\n".join(wrong)


def test_the_layer_check_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import core.storage\n\ndef f():\n    from pipelines import label\n    import models.inference as mi\n"
    )
    assert first_party_imports(module) == [("core", 1), ("pipelines", 4), ("models", 5)]


def test_worker_modules_import_without_tensorflow():
    loaded = "sorted(m for m in ('tensorflow', 'keras', 'lightgbm') if m in sys.modules)"
    probe = f"import sys\nimport {', '.join(TENSORFLOW_FREE)}\nprint({loaded})"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
