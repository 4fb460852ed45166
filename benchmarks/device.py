"""What the results were measured on: the facts a reader needs to judge a
timing (the CPU model and thread count; the GPU, its driver and clocks)."""

import platform
import re
import subprocess

import torch


def device_description(device):
    """A dict with at least ``type``, ``name`` and ``slug`` (filesystem-safe,
    used to name the results files)."""
    device = torch.device(device)
    if device.type == "cuda":
        return _gpu_description(
            device.index if device.index is not None else torch.cuda.current_device()
        )
    name = _cpu_model_name()
    threads = torch.get_num_threads()
    return dict(
        type="cpu",
        name=name,
        slug=f"cpu-{_slugify(name)}-{threads}t",
        threads=threads,
        machine=platform.machine(),
    )


def _gpu_description(index):
    props = torch.cuda.get_device_properties(index)
    return dict(
        type="cuda",
        name=props.name,
        slug=f"cuda-{_slugify(props.name)}",
        capability=f"{props.major}.{props.minor}",
        multiprocessors=props.multi_processor_count,
        memory_gib=round(props.total_memory / 2**30, 1),
        clock_rate_mhz=props.clock_rate // 1000,  # the CUDA device properties' peak SM clock
        cuda_runtime=torch.version.cuda,
        cudnn=torch.backends.cudnn.version(),
        **_nvidia_smi_facts(str(props.uuid)),
    )


def _nvidia_smi_facts(uuid):
    """Driver version and SM clocks (now, at the start of the run, and the most
    it may run at) of the GPU with this UUID, from nvidia-smi; None for each
    where nvidia-smi is missing or does not list the GPU."""
    facts = dict(driver=None, sm_clock_mhz=None, max_sm_clock_mhz=None)
    try:
        result = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=uuid,driver_version,clocks.sm,clocks.max.sm",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return facts
    for line in result.stdout.splitlines():
        gpu_uuid, driver, sm_clock, max_sm_clock = (field.strip() for field in line.split(","))
        if uuid in gpu_uuid:  # nvidia-smi writes "GPU-<uuid>"
            return dict(
                driver=driver,
                sm_clock_mhz=_int_or_none(sm_clock),
                max_sm_clock_mhz=_int_or_none(max_sm_clock),
            )
    return facts


def _int_or_none(text):
    return int(text) if text.isdigit() else None  # nvidia-smi writes "[N/A]" where it cannot tell


def _cpu_model_name():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _slugify(text):
    """'Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz' -> 'intel-xeon-platinum-8481c'."""
    text = re.sub(r"\((r|tm)\)", "", text.lower())
    text = re.sub(r"\bcpu\b.*$", "", text)  # drop 'CPU @ 2.70GHz' and what follows
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unknown"
