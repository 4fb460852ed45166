"""Running under torchrun: join the process group, and know which process
this is. DistributedDataParallel itself is PyTorch's (see train.Trainer)."""

import os

import torch
import torch.distributed as dist


def start(device: str) -> str:
    """Under torchrun (WORLD_SIZE > 1): join the process group (NCCL on GPUs,
    gloo on CPUs); returns this process's device."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    if device.startswith("cuda"):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        torch.cuda.set_device(device)
    return device


def is_running() -> bool:
    """Whether this process is in a process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_running() else 0


def world_size() -> int:
    return dist.get_world_size() if is_running() else 1


def stop() -> None:
    """Leave the process group, if this process is in one."""
    if is_running():
        dist.destroy_process_group()
