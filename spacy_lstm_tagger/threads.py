"""Keep forked worker processes from hanging in torch's intra-op thread pool.

`nlp.pipe(texts, n_process=2)` forks worker processes on Linux. torch's CPU build
runs its intra-op parallelism on an OpenMP thread pool, and an OpenMP pool that the
parent has already used does not survive a fork: the child's first parallel torch
op waits for threads that do not exist, and the pipe never returns (spaCy issues
4667 and 6662). With one intra-op thread torch never enters the pool.

So the first time one of this package's torch layers runs in a process forked from
the one that imported it (a worker of `nlp.pipe(n_process=...)`, or any fork that
tags), it sets that process to one torch thread, which also suits `n_process > 1`,
where the processes already share the cores. Forks that never run the tagger keep
their thread count; spawned processes start fresh and are not changed. A forked
worker that wants more threads calls `torch.set_num_threads(n)` after its first doc.
"""

import os

import torch

# The process whose thread pool is known to be usable: the one that imported us.
_pool_pid = os.getpid()


def one_thread_if_forked() -> None:
    """Set torch to one intra-op thread if this is a forked process that has not
    run a torch layer of this package yet; otherwise do nothing."""
    global _pool_pid
    pid = os.getpid()
    if pid != _pool_pid:
        _pool_pid = pid
        torch.set_num_threads(1)
