"""benchmarks.review_loop's logic that can break: which held-out images are reviewed (A) and which scored (B), and
what the two models' labels on B count as."""
import hashlib
import random

from benchmarks.review_loop import halves, outcome


def _images(sizes: dict[str, int]) -> list[dict]:
    return [{"path": f"/{source}/{i}.png", "label": "chart", "source": source,
             "sha256": hashlib.sha256(f"{source}/{i}".encode()).hexdigest()}
            for source, n in sizes.items() for i in range(n)]


def test_each_source_is_dealt_into_two_halves_whatever_the_order_of_the_images():
    images = _images({"a": 7, "b": 4, "c": 1})
    reviewed, other, identical = halves(images, seed=0)
    shuffled = images[:]
    random.Random(3).shuffle(shuffled)
    assert halves(shuffled, seed=0) == (reviewed, other, identical)
    count = {(half, s): sum(i["source"] == s for i in images_) for half, images_ in (("A", reviewed), ("B", other))
             for s in "abc"}
    assert count == {("A", "a"): 4, ("B", "a"): 3, ("A", "b"): 2, ("B", "b"): 2, ("A", "c"): 1, ("B", "c"): 0}
    assert sorted(i["path"] for i in reviewed + other) == sorted(i["path"] for i in images) and identical == 0


def test_the_seed_chooses_the_halves():
    images = _images({"a": 40})
    assert {i["path"] for i in halves(images, seed=0)[0]} != {i["path"] for i in halves(images, seed=1)[0]}


def test_a_file_identical_to_a_reviewed_one_is_never_scored():
    images = _images({"a": 3})
    images.append({**images[0], "path": "/a/copy_of_0.png"})  # same bytes, another name
    reviewed, other, identical = halves(images, seed=0)
    assert not {i["sha256"] for i in reviewed} & {i["sha256"] for i in other}
    assert len(reviewed) + len(other) + identical == 4 and identical == 1


def test_the_outcome_counts_errors_and_what_retraining_fixed_or_broke():
    before = {"x": ("chart", "non_chart", True), "y": ("chart", "chart", False), "z": ("non_chart", "chart", False),
              "w": ("non_chart", "non_chart", True)}
    after = {"x": ("chart", "chart", False), "y": ("chart", "non_chart", True), "z": ("non_chart", "non_chart", False),
             "w": ("non_chart", "non_chart", False)}
    assert outcome(before, after) == {"errors_before": 2, "errors_after": 1, "accuracy_before": 0.5,
                                      "accuracy_after": 0.75, "fixed": 2, "broken": 1, "review_before": 2,
                                      "review_after": 1}
