"""core.dead_letters: the record shapes every rejection takes."""
from core import dead_letters


def test_dead_letter_and_refusal_shapes():
    expected = {"source": "s", "uri": "u", "label": "", "reason": "r", "detail": "d"}
    assert dead_letters.ingest_record("s", "u", "r", "d") == expected
    assert set(dead_letters.label_record("u", "r", "d", "t")) == {"uri", "reason", "detail", "rejected_at"}
    assert dead_letters.refusal("r", "d", {"name": "n"}) == {"name": "n", "reason": "r", "detail": "d"}
    assert len(set(dead_letters.REASONS)) == len(dead_letters.REASONS)
