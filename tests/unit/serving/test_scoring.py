"""serving.scoring: requests batched into the model, and the switch to a newer run (the shipped model, no training)."""
import asyncio
import shutil

import numpy as np
import pytest

from core import runs
from models.run import LoadedRun
from serving.scoring import BatchingScorer, LiveModel
from tests.support.images import image_bytes
from tests.support.runs import ship_copy
from transforms.image import prepare


@pytest.fixture(scope="module")
def shipped() -> LoadedRun:
    return LoadedRun.open(None)


def _pixels(run: LoadedRun, count: int) -> list[bytes]:
    return [prepare(image_bytes(i), run.image_size).pixels.tobytes() for i in range(count)]


def test_a_replaced_scorer_answers_every_request_already_queued(shipped):
    pixels = _pixels(shipped, 12)
    alone = shipped.scorer()(pixels)

    async def queued_then_closed() -> list:
        scorer = BatchingScorer(shipped, max_batch=4)
        waiting = [asyncio.create_task(scorer.score(p)) for p in pixels]
        await asyncio.sleep(0)  # all queued: the first batch is with the model
        scorer.close()
        return await asyncio.gather(*waiting)

    np.testing.assert_allclose(asyncio.run(queued_then_closed()), alone, rtol=1e-6)


def test_the_live_model_switches_when_latest_names_a_new_run_and_not_before(shipped, tmp_path):
    models = str(tmp_path / "chart-cnn")
    shutil.copytree(shipped.run_dir, f"{models}/run_old")
    runs.point_latest(models, "run_old")
    live = LiveModel(LoadedRun.open(models), max_batch=8)
    pixel = _pixels(shipped, 1)[0]

    async def follow_while(change) -> list[tuple[str, float]]:
        following = asyncio.get_running_loop().create_task(live.follow(0.05))
        seen = []
        for step in range(2):
            run, scorer = live.current
            seen.append((run.rule.run_id, run.rule.threshold, await scorer.score(pixel)))
            if step == 0:
                change()
                for _ in range(200):  # up to 10 s for the new run to load
                    await asyncio.sleep(0.05)
                    if live.current[0].rule.run_id != run.rule.run_id:
                        break
        following.cancel()
        return seen

    (old_id, old_threshold, old_score), (new_id, new_threshold, new_score) = asyncio.run(
        follow_while(lambda: ship_copy(shipped.run_dir, models, "run_new", 0.25)))
    assert (old_id, new_id, new_threshold) == (shipped.rule.run_id, "run_new", 0.25)
    assert old_threshold == shipped.rule.threshold and new_score == pytest.approx(old_score, rel=1e-6)
