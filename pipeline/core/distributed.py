"""torchrun support: one process per device, rank 0 owns the run folder.

Under `torchrun --nproc_per_node N pipeline/build_all.py ...` every process runs the same
command. Training stages run on all ranks (DistributedDataParallel); every other stage runs
on rank 0 while the others wait, so files are never written twice.
"""
from __future__ import annotations

import os

_coord = None


def world() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def init() -> None:
    """Create the process group once (gloo on CPU, NCCL for CUDA tensors) plus a gloo group for file coordination."""
    global _coord
    if world() == 1 or _coord is not None:
        return
    import torch
    import torch.distributed as dist
    if not dist.is_initialized():
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    _coord = dist.new_group(backend="gloo")


def barrier() -> None:
    if world() > 1:
        import torch.distributed as dist
        init()
        dist.barrier(group=_coord)


def broadcast(obj):
    """Rank 0's value of obj, on every rank."""
    if world() == 1:
        return obj
    import torch.distributed as dist
    init()
    box = [obj]
    dist.broadcast_object_list(box, src=0, group=_coord)
    return box[0]
