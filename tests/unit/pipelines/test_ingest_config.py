"""pipelines.ingest_config and the typed sources: configs checked before any work, errors naming the key."""
import dataclasses
import os
import re
import time

import numpy as np
import pytest
import yaml

from core import config
from pipelines.ingest_config import ConfigError, load_config, load_configs, parse_config, split_of
from pipelines.sources import SOURCE_TYPES, ReadHuggingFace
from tests import support


def test_split_of_is_deterministic_and_follows_the_ratios():
    ratios = (0.7, 0.2, 0.1)
    hashes = [f"{i:064x}" for i in range(4000)]
    assignments = [split_of(h, ratios) for h in hashes]
    assert assignments == [split_of(h, ratios) for h in hashes]
    shares = np.bincount(assignments, minlength=3) / len(hashes)
    np.testing.assert_allclose(shares, ratios, atol=0.03)


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({"sources": [{"type": "ftp", "root": "x"}]}, "type one of"),
        ({"sources": [{"type": "folder"}]}, "needs ['root']"),
        ({"sources": [{"type": "folder", "root": "x", "label_map": {"a": "dog"}}]}, "label_map values"),
        ({"sources": [{"type": "demo", "size": 3, "colour": "red"}]}, "unknown keys ['colour']"),
        ({"sources": [{"type": "demo", "size": 3}], "split": {"train": 0.5, "val": 0.1, "test": 0.1}}, "sum to 1"),
        ({"sources": []}, "non-empty 'sources'"),
        ({"sources": [{"type": "demo", "size": 3, "weight": 0}]}, "weight must be a finite number above 0"),
        ({"sources": [{"type": "folder", "root": "x", "weight": "heavy"}]}, "weight must be a finite number above 0"),
        (
            {"sources": [{"type": "folder", "root": "x", "weight": float("inf")}]},
            "weight must be a finite number above 0",
        ),
        (
            {"sources": [{"type": "folder", "root": "x", "weight": float("nan")}]},
            "weight must be a finite number above 0",
        ),
        (
            {"sources": [{"type": "demo", "size": 3}], "split": {"train": float("nan"), "val": 0.5, "test": 0.5}},
            "split ratios must be numbers",
        ),
        (
            {"sources": [{"type": "demo", "size": 3}], "split": {"train": 1.5, "val": -0.5, "test": 0}},
            "split ratios must be numbers",
        ),
        ({"sources": [{"type": "demo", "size": 3}], "image_size": -64}, "image_size must be an integer"),
        ({"sources": [{"type": "demo", "size": 3}], "image_size": "big"}, "image_size must be an integer"),
        ({"sources": [{"type": "demo", "size": -5}]}, "size must be an integer above 0"),
        ({"sources": [{"type": "folder", "root": "x"}, {"type": "folder", "root": "x", "weight": 2}]}, "listed twice"),
        ({"sources": [{"type": "corrections"}]}, "needs ['path']"),
        ({"sources": [{"type": "corrections", "path": ""}]}, "path must name a corrections file"),
        ({"sources": [{"type": "corrections", "path": ["a.jsonl"]}]}, "path must name a corrections file"),
        ({"sources": [{"type": "corrections", "path": "gs://b/c.jsonl"}]}, "path must be local"),
        ({"sources": [{"type": "corrections", "path": "c.jsonl", "weight": 0}]}, "weight must be a finite number"),
        ({"sources": [{"type": "corrections", "path": "c.jsonl", "weight": -5}]}, "weight must be a finite number"),
        ({"sources": [{"type": "corrections", "path": "c", "weight": "heavy"}]}, "weight must be a finite number"),
        ({"sources": [{"type": "corrections", "path": "c.jsonl", "label_map": {"a": "chart"}}]},
         "unknown keys ['label_map']"),
        ({"sources": [{"type": "corrections", "path": "c.jsonl"}, {"type": "corrections", "path": "c.jsonl"}]},
         "listed twice"),
    ],
)
def test_bad_configs_name_the_problem(raw, fragment):
    with pytest.raises(ConfigError, match=None) as err:
        parse_config(raw, where="bad.yaml")
    assert fragment in str(err.value) and "bad.yaml" in str(err.value)


# Every key of every source type, none at its default.
FULL_BLOCKS = {
    "folder": {"type": "folder", "root": "gs://bucket/images", "label_map": {"charts": "chart"}, "weight": 2.5},
    "jsonl": {"type": "jsonl", "path": "data/manifest.jsonl", "label_map": {1: "non_chart"}, "weight": 3},
    "csv": {"type": "csv", "path": "data/manifest.csv", "image_column": "file", "label_column": "kind",
            "group_column": "source_repo", "label_map": {"charts": "chart"}, "weight": 4},
    "huggingface": {
        "type": "huggingface", "name": "someone/charts", "data_files": "hub/*.parquet", "split": "test",
        "revision": "v2", "image_column": "picture", "label_column": "kind", "label_map": {0: "chart"}, "weight": 0.5,
    },
    "demo": {"type": "demo", "size": 7, "seed": 3, "weight": 2.0},
    "corrections": {"type": "corrections", "path": "reviews/*.corrections.jsonl", "weight": 7.5},
}


@pytest.mark.parametrize("kind", sorted(SOURCE_TYPES))
def test_each_source_type_is_its_dataclass_with_every_key_from_yaml(kind, tmp_path):
    block, source_type = FULL_BLOCKS[kind], SOURCE_TYPES[kind].config
    assert set(block) == {config.key_of(f) for f in dataclasses.fields(source_type)} | {"type"}, "a key untested"
    path = tmp_path / "ingest.yaml"
    path.write_text(yaml.safe_dump({"sources": [block]}))
    (source,) = load_config(str(path)).sources
    assert type(source) is source_type and source.type == kind
    assert {config.key_of(f): getattr(source, f.name) for f in dataclasses.fields(source)} == {
        k: v for k, v in block.items() if k != "type"
    }


@pytest.mark.parametrize("kind", sorted(SOURCE_TYPES))
def test_an_unknown_key_is_named_with_the_source_and_the_allowed_keys(kind):
    block = {**FULL_BLOCKS[kind], "colour": "red"}
    with pytest.raises(ConfigError) as err:
        parse_config({"sources": [FULL_BLOCKS["demo"], block]}, where="bad.yaml")
    message = str(err.value)
    assert f"bad.yaml: sources[1] ({kind}): unknown keys ['colour']; allowed: " in message
    assert all(key in message for key in block if key != "colour")


def test_a_misspelt_key_names_the_one_meant():
    with pytest.raises(ConfigError, match=r"sources\[0\] \(folder\): unknown keys \['roots'\].*did you mean 'root'"):
        parse_config({"sources": [{"type": "folder", "roots": "x"}]})


@pytest.mark.parametrize("others, weight, expected", [
    ([{"type": "folder", "root": "real", "weight": 5}, {"type": "demo", "size": 3, "weight": 1}], None, 5.0),
    ([{"type": "demo", "size": 3}], None, 1.0),
    ([], None, 1.0),
    ([{"type": "folder", "root": "real", "weight": 5}], 2, 2.0),  # a weight given is the weight used
])
def test_a_corrections_source_weighs_as_much_as_the_heaviest_other_source_unless_given(others, weight, expected):
    block = {"type": "corrections", "path": "c.jsonl"} | ({"weight": weight} if weight else {})
    sources = parse_config({"sources": others + [block]}).sources
    assert sources[-1].type == "corrections" and sources[-1].weight == expected
    assert [s.weight for s in sources[:-1]] == [float(o.get("weight", 1.0)) for o in others]


def _write_yaml(path, raw) -> str:
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_several_configs_add_up_their_sources_with_the_first_ones_size_and_split(tmp_path):
    base = _write_yaml(tmp_path / "base.yaml", {"image_size": 64, "split": {"train": 0.6, "val": 0.3, "test": 0.1},
                                                "sources": [{"type": "folder", "root": "real", "weight": 5}]})
    more = _write_yaml(tmp_path / "more.yaml", {"sources": [{"type": "corrections", "path": "c.jsonl"}]})
    same = _write_yaml(tmp_path / "same.yaml", {"image_size": 64, "sources": [{"type": "demo", "size": 3}]})

    merged = load_configs([base, more, same])

    assert [(s.type, s.name, s.weight) for s in merged.sources] == [
        ("folder", "real", 5.0), ("corrections", "c.jsonl", 5.0), ("demo", "demo(seed=0)", 1.0)]
    assert (merged.image_size, merged.split) == (64, (0.6, 0.3, 0.1))
    assert load_configs([more]).sources[0].weight == 1.0  # alone, nothing heavier to match
    assert load_configs([base]) == load_config(base)


@pytest.mark.parametrize("later, fragment", [
    ({"image_size": 128, "sources": [{"type": "demo", "size": 3}]}, "image_size 128 disagrees with"),
    ({"split": {"train": 0.8, "val": 0.1, "test": 0.1}, "sources": [{"type": "demo", "size": 3}]},
     "split {'train': 0.8, 'val': 0.1, 'test': 0.1} disagrees with"),  # the first's is 0.6/0.3/0.1
    ({"sources": [{"type": "folder", "root": "real"}]}, "source real is listed twice"),
    ({"image_size": 64}, "non-empty 'sources'"),
    ({"sources": [{"type": "corrections", "path": "c.jsonl", "colour": "red"}]}, "unknown keys ['colour']"),
])
def test_a_later_config_that_disagrees_with_the_first_is_refused_naming_both(tmp_path, later, fragment):
    base = _write_yaml(tmp_path / "base.yaml", {"image_size": 64, "split": {"train": 0.6, "val": 0.3, "test": 0.1},
                                                "sources": [{"type": "folder", "root": "real"}]})
    more = _write_yaml(tmp_path / "more.yaml", later)
    with pytest.raises(ConfigError) as err:
        load_configs([base, more])
    assert fragment in str(err.value) and str(more) in str(err.value)


ROOT = support.REPO_ROOT












def documented_yaml(path: str, heading: str):
    """The YAML block right under `heading` in a document."""
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    return yaml.safe_load(re.search(rf"{re.escape(heading)}\n```yaml\n(.*?)```", text, re.S).group(1))


def test_the_registry_reads_every_source_type_the_docs_document():
    sources = parse_config(documented_yaml("docs/CONFIG.md", "### Every source type"), where="docs/CONFIG.md").sources
    assert {s.type for s in sources} == set(SOURCE_TYPES)
    assert all(isinstance(s, SOURCE_TYPES[s.type].config) for s in sources)


def test_the_readme_example_is_a_valid_ingest_config():
    assert parse_config(documented_yaml("README.md", "how much its images count:"), where="README.md").sources


def test_the_config_reference_names_every_key_of_every_source_type():
    text = open(os.path.join(ROOT, "docs", "CONFIG.md"), encoding="utf-8").read()
    reference = text[text.index("### Source keys"):text.index("## Model config")]
    for source_type in SOURCE_TYPES.values():
        allowed, _ = config.block_keys(source_type.config)
        assert all(f"`{key}`" in reference for key in allowed), (source_type.config.type, sorted(allowed))


def test_hub_source_fails_fast_and_names_the_offline_alternative(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    source = parse_config(
        {
            "sources": [
                {
                    "type": "huggingface",
                    "name": "StephanAkkerman/stock-charts",
                    "label_map": {0: "chart", 1: "non_chart"},
                }
            ]
        }
    ).sources[0]
    started = time.monotonic()
    with pytest.raises(ConnectionError) as err:
        ReadHuggingFace(source)
    assert time.monotonic() - started < 10
    assert (
        "StephanAkkerman/stock-charts" in str(err.value)
        and "data_files" in str(err.value)
        and "HF_HUB_OFFLINE" in str(err.value)
    )


def test_hub_source_offline_and_not_cached_names_the_next_step(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as tests/conftest.py sets it: the cache only
    source = parse_config(
        {"sources": [{"type": "huggingface", "name": "nobody/no-such-charts", "label_map": {0: "chart"}}]}
    ).sources[0]
    with pytest.raises(ConnectionError) as err:
        ReadHuggingFace(source)
    message = str(err.value)
    assert "nobody/no-such-charts" in message and "run once online to cache it" in message
    assert "--config configs/ingest_demo.yaml" in message and "type: folder" in message and "data_files" in message


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(os.path.join(support.REPO_ROOT, "configs"))
                                        if n.startswith(("ingest", "corrections"))))
def test_every_shipped_ingest_config_loads(name, monkeypatch):
    monkeypatch.chdir(support.REPO_ROOT)  # the configs' relative paths are from the checkout, where make runs
    assert load_config(os.path.join("configs", name)).sources
