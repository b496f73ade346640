"""Keep forked worker processes from hanging in torch's intra-op thread pool.

`nlp.pipe(texts, n_process=2)` forks worker processes on Linux. torch's CPU build
runs its intra-op parallelism on an OpenMP thread pool, and an OpenMP pool that the
parent has already used does not survive a fork: the child's first parallel torch
op waits for threads that do not exist, and the pipe never returns (spaCy issues
4667 and 6662). With one intra-op thread torch never enters the pool, so each
forked child is set to one thread. That also suits n_process > 1, where the
processes themselves already use the cores.
"""

import os

import torch

_registered = False


def _one_thread_in_child() -> None:
    torch.set_num_threads(1)


def limit_threads_after_fork() -> None:
    """Give every process forked from now on one torch intra-op thread.

    Registered once per process; a no-op where `os.register_at_fork` does not
    exist (Windows, which spawns workers instead of forking them).
    """
    global _registered
    if _registered or not hasattr(os, "register_at_fork"):
        return
    os.register_at_fork(after_in_child=_one_thread_in_child)
    _registered = True
