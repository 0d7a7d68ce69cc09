"""core.config: YAML blocks checked against their dataclasses, errors naming the key."""
import dataclasses

import pytest

from core import config


@dataclasses.dataclass(frozen=True)
class Block:
    size: int
    kind: str = dataclasses.field(default="a", metadata={config.KEY: "type"})

    def __post_init__(self):
        if self.size < 1:
            raise config.BadValue("size", f"must be above 0, got {self.size}")


class Refused(Exception):
    pass


def refuse(key: str, problem: str) -> Refused:
    return Refused(f"{key} | {problem}")


def test_block_keys_are_the_yaml_names_of_the_fields():
    assert config.block_keys(Block) == ({"size", "type"}, ("size",))
    assert config.from_block(Block, {"size": 2, "type": "b"}, refuse) == Block(2, "b")


@pytest.mark.parametrize("block, message", [
    ({"size": 2, "sise": 3}, "sise | unknown keys ['sise']; allowed: size, type; did you mean 'size'?"),
    ({"type": "b"}, "size | needs ['size']"),
    ({"size": 0}, "size | size must be above 0, got 0"),
])
def test_each_bad_block_goes_through_the_callers_error_naming_the_key(block, message):
    with pytest.raises(Refused) as err:
        config.from_block(Block, block, refuse)
    assert str(err.value) == message
