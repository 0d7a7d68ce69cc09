"""core.results: the verdict a score gets."""
from core import features
from core.results import Rule


def test_a_verdict_is_chart_at_or_above_the_threshold():
    model = Rule("demo", "r1", 0.4)
    assert model.verdict(0.4) == {"label": features.CHART, "score": 0.4, "review": False, "model_type": "demo",
                                  "run_id": "r1"}
    assert model.verdict(0.3999994)["label"] == features.NON_CHART
    assert model.verdict(0.3999996)["label"] == features.CHART  # written as 0.4: the label follows the written score
    banded = Rule("demo", "r1", 0.4, (0.3, 0.5))
    assert [banded.verdict(s)["review"] for s in (0.29, 0.3, 0.45, 0.5)] == [False, True, True, False]
    assert model.verdict(0.123456789)["score"] == 0.123457


def test_results_are_read_from_the_prefix_s_own_shards_only(tmp_path):
    from core.results import read_results

    def write(name, *uris):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("".join(f'{{"uri": "{u}"}}\n' for u in uris))

    write("labels-00000-of-00002.jsonl", "a")
    write("labels-00001-of-00002.jsonl", "b")
    write("labels-0123456789abcdef0123.jsonl", "c")  # a streaming run's bundle file
    write("labels.rejected-00000-of-00001.jsonl", "d")
    write("labels-2-00000-of-00001.jsonl", "other prefix")
    write("labels-2.rejected-00000-of-00001.jsonl", "other prefix")
    write(f"beam-temp-labels-{'e' * 32}/{'f' * 32}.labels-00000-of-00002.jsonl", "killed run")
    write("labels-00000-of-00001.jsonl.0123abcd.part", "half written")
    assert read_results(str(tmp_path / "labels")) == ([{"uri": "a"}, {"uri": "b"}, {"uri": "c"}], [{"uri": "d"}])
