"""The Ray engine of the `tag` command: the same per-file work (`tag_file`) on Ray Data actors.

Each actor loads the pipeline once and tags whole files: it reads the input and writes the
output itself (through a `.partial` file renamed when complete), so on a cluster the input and
output paths must be on a file system that every node sees under the same path. The driver
only hands out file names and collects each file's counts.
"""

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from ..errors import BadLineError, Errors, TagInputError
from .tag_core import FileResult, ProgressFn, TagOptions, tag_file
from .tag_formats import annotated_attrs
from .tag_jobs import FileJob


class FileTagger:
    """A Ray Data actor: loads the pipeline once, then tags the files of each batch.

    model (str): A pipeline directory or package name, loadable on every node.
    opts (dict): The TagOptions, as a dict.
    threads (int): torch intra-op threads: the actor's CPUs.
    use_gpu (bool): Run on the GPU Ray gives the actor.
    """

    def __init__(self, model: str, opts: dict, threads: int, use_gpu: bool = False) -> None:
        import spacy
        import torch

        torch.set_num_threads(threads)
        if use_gpu:
            spacy.require_gpu(0)  # Ray sets CUDA_VISIBLE_DEVICES to the actor's GPU
        self.nlp = spacy.load(model)
        self.attrs = annotated_attrs(self.nlp)
        # n_process 1: the actors are the processes.
        self.opts = TagOptions(**{**opts, "n_process": 1})

    def __call__(self, batch: Dict[str, list]) -> Dict[str, list]:
        results = [self._tag(str(s), str(t)) for s, t in zip(batch["source"], batch["target"])]
        return {key: [result[key] for result in results] for key in results[0]}

    def _tag(self, source: str, target: str) -> dict:
        try:
            result = tag_file(self.nlp, FileJob(Path(source), Path(target)), self.opts, self.attrs)
        except BadLineError as err:
            # Sent back as data: the driver stops with a clear message, not a Ray traceback.
            result = FileResult(source, target, error=str(err))
        return asdict(result)


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise ImportError(Errors.E322) from err
    return ray


def _start_ray(ray, address: Optional[str], num_cpus: Optional[int]) -> bool:
    """Join the cluster at address, or start a local Ray unless one runs in this process.

    RETURNS (bool): Whether this call started Ray (and should shut it down).
    """
    if ray.is_initialized():
        return False
    ray.init(
        address=address,
        num_cpus=None if address else num_cpus,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    return True


def run_ray(
    model: str,
    jobs: List[FileJob],
    opts: TagOptions,
    progress: ProgressFn,
    *,
    gpu_id: int = -1,
    address: Optional[str] = None,
    workers: Optional[int] = None,
    cpus_per_worker: int = 1,
) -> Iterator[FileResult]:
    """Tag the files on Ray Data, one actor per worker, yielding results as files finish.

    model (str): A pipeline directory or package name, loadable on every node.
    jobs (List[FileJob]): The files.
    opts (TagOptions): Format, batching and bad-input handling.
    progress (ProgressFn): Called with each finished file's bytes and words.
    gpu_id (int): >= 0 gives each actor one GPU.
    address (Optional[str]): A cluster to join ("auto" or "ray://HOST:PORT"); None starts Ray here.
    workers (Optional[int]): Actors; default: the cluster's CPUs // cpus_per_worker.
    cpus_per_worker (int): CPUs (and torch threads) of each actor.
    """
    ray = _import_ray()
    if workers is not None and workers < 1 or cpus_per_worker < 1:
        raise TagInputError(Errors.E304)
    local_cpus = workers * cpus_per_worker if workers else None
    started = _start_ray(ray, address, local_cpus)
    try:
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)) // cpus_per_worker)
        workers = min(workers, len(jobs))  # an actor per file at most: each loads the model
        yield from _map_files(ray, model, jobs, opts, progress, workers, cpus_per_worker, gpu_id)
    finally:
        if started:
            ray.shutdown()


def _map_files(
    ray,
    model: str,
    jobs: List[FileJob],
    opts: TagOptions,
    progress: ProgressFn,
    workers: int,
    cpus_per_worker: int,
    gpu_id: int,
) -> Iterator[FileResult]:
    """Map the files over an actor pool; yield each file's result as it comes back."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # our own bar counts words; Ray's would interleave
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    # Absolute paths: an actor's working directory is not the driver's.
    rows = [
        {"source": str(job.source.resolve()), "target": str(job.target.resolve())} for job in jobs
    ]
    originals = {row["target"]: job for row, job in zip(rows, jobs)}
    if Path(model).exists():
        model = str(Path(model).resolve())
    # One block per file, so that files spread over the actors.
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
    results = dataset.map_batches(
        FileTagger,
        fn_constructor_kwargs={
            "model": str(model),
            "opts": asdict(opts),
            "threads": cpus_per_worker,
            "use_gpu": gpu_id >= 0,
        },
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=cpus_per_worker,
        num_gpus=1 if gpu_id >= 0 else None,
    )
    for row in results.iter_rows():
        result = FileResult(**row)
        if result.error:
            raise TagInputError(result.error)
        job = originals[result.target]
        result.source, result.target = str(job.source), str(job.target)
        progress(job.source.stat().st_size, result.words)
        yield result
