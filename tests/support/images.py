"""Small test pictures, and the label command line as a user types it."""
import io
import sys

import numpy as np
from PIL import Image


def image_bytes(seed: int, fmt: str = "PNG", size: tuple[int, int] = (96, 64), mode: str = "RGB", **save_args) -> bytes:
    """A small, distinct test picture (blocks of colour plus noise) encoded as `fmt`."""
    rng = np.random.default_rng(seed)
    pixels = np.repeat(
        np.repeat(rng.integers(0, 256, (size[1] // 8 + 1, size[0] // 8 + 1, 3), dtype=np.uint8), 8, 0), 8, 1
    )
    picture = Image.fromarray(pixels[: size[1], : size[0]]).convert(mode)
    out = io.BytesIO()
    picture.save(out, fmt, **save_args)
    return out.getvalue()


def label_command(model_dir: str, input_: str, output: str, *extra: str) -> list[str]:
    """`python -m pipelines.label` on the DirectRunner, as a user types it (for tests that run it as a process)."""
    return [sys.executable, "-m", "pipelines.label", "--runner=DirectRunner", "--model_dir", model_dir,
            "--input", input_, "--output", output, *extra]
