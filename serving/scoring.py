"""The server's model: requests batched into the pipelines' model handler, and the switch to a newer run that
--model_dir's `latest` names, without a restart (requests already under way finish on the run they started on)."""
import asyncio
import concurrent.futures
import logging
from typing import Optional, Union

from models.inference import InferenceError, SavedModelHandler
from models.run import LoadedRun

_STOP = None  # queued after a replaced scorer's last request: its worker ends there


class BatchingScorer:
    """Scores prepared pixels with the pipelines' model handler. Requests queue while the model
    is busy and go into its next call together: batching without waiting when the server is idle."""

    def __init__(self, run: LoadedRun, max_batch: int):
        self._handler = SavedModelHandler(run)
        self._model = self._handler.load_model()
        self._max_batch = max_batch
        self._queue: Optional[asyncio.Queue] = None
        self._model_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="model")

    async def score(self, pixels: bytes) -> Union[float, InferenceError]:
        """The chart score of one image's prepared pixels, or why the model refused it."""
        if self._queue is None:  # created on the server's event loop
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._run())
        answer = asyncio.get_running_loop().create_future()
        await self._queue.put((pixels, answer))
        return await answer

    def close(self) -> None:
        """Answer what is queued, then stop (a replaced scorer)."""
        if self._queue is None:
            self._model_thread.shutdown(wait=False)
        else:
            self._queue.put_nowait(_STOP)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            stopping = _STOP in batch
            batch = [item for item in batch if item is not _STOP]
            try:
                if batch:
                    results = await asyncio.get_running_loop().run_in_executor(
                        self._model_thread, self._handler.run_inference, [pixels for pixels, _ in batch],
                        self._model)
                    for (_, answer), result in zip(batch, results):
                        if not answer.done():
                            answer.set_result(result.inference)
            except Exception as err:  # never leave a request waiting
                for _, answer in batch:
                    if not answer.done():
                        answer.set_exception(err)
            if stopping:
                self._model_thread.shutdown(wait=False)
                return


class LiveModel:
    """The run the server answers with now, and its scorer; `follow` swaps in the run --model_dir's `latest` names
    when that changes. `current` is read once per request, so a request finishes on the run it started on."""

    def __init__(self, run: LoadedRun, max_batch: int):
        self._max_batch = max_batch
        self.current: tuple[LoadedRun, BatchingScorer] = (run, BatchingScorer(run, max_batch))

    async def follow(self, every: float) -> None:
        """Every `every` seconds, look at `latest`; load a new run off the event loop, then switch to it."""
        while True:
            await asyncio.sleep(every)
            try:
                newer = await asyncio.get_running_loop().run_in_executor(None, self._newer)
            except Exception as err:  # a run still being written, a store that hiccups: keep serving, try again
                logging.warning("Keeping run %s: cannot load the run %s names yet (%s: %s)",
                                self.current[0].rule.run_id, self.current[0].follows, type(err).__name__, err)
                continue
            if newer is not None:
                replaced, self.current = self.current, newer
                replaced[1].close()
                logging.info("Switched from run %s to run %s (%s)", replaced[0].rule.run_id, newer[0].rule.run_id,
                             newer[0].follows)

    def _newer(self) -> Optional[tuple[LoadedRun, BatchingScorer]]:
        run = self.current[0]
        newer = run.newer(run.run_dir)
        return None if newer is None else (newer, BatchingScorer(newer, self._max_batch))
