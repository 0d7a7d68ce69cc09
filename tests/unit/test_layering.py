"""The packages are layers, each importing only packages below it (docs/ARCHITECTURE.md, Layering)."""
import ast
import pathlib

import pytest

from tests import support

ROOT = pathlib.Path(support.REPO_ROOT)


# A package imports only packages of a lower layer; two packages of one layer never import each other.
LAYERS = {"core": 0, "transforms": 1, "synthetic": 1, "models": 2, "serving": 3, "pipelines": 4, "benchmarks": 5,
          "tests": 6}


def test_every_package_has_a_layer():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages == set(LAYERS)


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
