"""Builds seq2seq_ext._C: the C++ CPU kernels always, the CUDA kernels when a
CUDA toolkit (nvcc) and a CUDA-enabled torch are both present. Whether a GPU
is visible does not matter, so a GPU-less machine still compiles (and checks)
the CUDA code.

Environment:
  SEQ2SEQ_EXT_CUDA=0     CPU-only build, even where CUDA could be built
  SEQ2SEQ_EXT_CUDA=1     require the CUDA kernels; fail if they cannot be built
  TORCH_CUDA_ARCH_LIST   GPU architectures; default: the visible GPUs, or
                         "9.0+PTX" (H100, PTX for newer GPUs) when none is visible
  CUDA_HOME              the CUDA toolkit; default /usr/local/cuda when it exists
  MAX_JOBS               parallel compile jobs (ninja)
"""

import glob
import importlib.util
import os

from setuptools import find_packages, setup

# torch guesses CUDA_HOME from `which nvcc`; an nvcc wrapper in /usr/local/bin
# makes it guess /usr/local. Prefer the standard toolkit location when it exists.
if not os.environ.get("CUDA_HOME") and not os.environ.get("CUDA_PATH"):
    if os.path.exists("/usr/local/cuda/bin/nvcc"):
        os.environ["CUDA_HOME"] = "/usr/local/cuda"

import torch  # noqa: E402
from torch.utils import cpp_extension  # noqa: E402

DEFAULT_ARCH_LIST = "9.0+PTX"


def build_cuda() -> bool:
    flag = os.environ.get("SEQ2SEQ_EXT_CUDA", "").strip()
    if flag not in ("", "0", "1"):
        raise RuntimeError(f"SEQ2SEQ_EXT_CUDA must be 0 or 1, got {flag!r}")
    if flag == "0":
        return False
    cuda_home = cpp_extension.CUDA_HOME
    has_toolkit = cuda_home is not None and os.path.exists(os.path.join(cuda_home, "bin", "nvcc"))
    has_cuda_torch = torch.version.cuda is not None
    if flag == "1" and not (has_toolkit and has_cuda_torch):
        raise RuntimeError(
            "SEQ2SEQ_EXT_CUDA=1 but the CUDA kernels cannot be built: "
            f"CUDA toolkit {'found at ' + cuda_home if has_toolkit else 'not found (set CUDA_HOME)'}, "
            f"torch {torch.__version__} is {'' if has_cuda_torch else 'not '}a CUDA build"
        )
    return has_toolkit and has_cuda_torch


def wheel_cuda_include_dirs():
    """Headers that CUDA builds of torch ship in site-packages/nvidia/cu*/include
    (cusparse.h and others that torch's headers include)."""
    spec = importlib.util.find_spec("nvidia")
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(
        path
        for location in spec.submodule_search_locations
        for path in glob.glob(os.path.join(location, "cu*", "include"))
    )


def csrc_sources(cuda: bool):
    """The compile units of csrc/, at any depth: the C++ files outside the cuda/
    folders, or (cuda=True) those inside them and the .cu files. Each op family
    (csrc/<family>/) keeps its CUDA kernels and their registration in its cuda/."""
    cpp = glob.glob("csrc/**/*.cpp", recursive=True)
    if not cuda:
        return sorted(p for p in cpp if "cuda" not in p.split(os.sep)[:-1])
    cuda_cpp = [p for p in cpp if "cuda" in p.split(os.sep)[:-1]]
    return sorted(cuda_cpp + glob.glob("csrc/**/*.cu", recursive=True))


def extension():
    sources = csrc_sources(cuda=False)
    # -fopenmp: at::parallel_for is an OpenMP pragma in torch's headers, ignored
    # without it (the OpenMP runtime is the one torch has already loaded).
    # -fno-trapping-math: lets GCC vectorize the CPU cell loops, whose exp has a
    # clamp it otherwise turns into branches (nothing here reads FP exception flags).
    cxx_flags = ["-O3", "-std=c++20", "-fopenmp", "-fno-trapping-math"]
    if not build_cuda():
        print("seq2seq_ext: building the CPU kernels only")
        return cpp_extension.CppExtension(
            "seq2seq_ext._C",
            sources,
            include_dirs=[os.path.abspath("csrc")],
            extra_compile_args={"cxx": cxx_flags},
        )
    if not os.environ.get("TORCH_CUDA_ARCH_LIST") and not torch.cuda.is_available():
        os.environ["TORCH_CUDA_ARCH_LIST"] = DEFAULT_ARCH_LIST
    print(
        f"seq2seq_ext: building the CPU and CUDA kernels "
        f"(arch list: {os.environ.get('TORCH_CUDA_ARCH_LIST', 'visible GPUs')})"
    )
    sources += csrc_sources(cuda=True)
    return cpp_extension.CUDAExtension(
        "seq2seq_ext._C",
        sources,
        include_dirs=[os.path.abspath("csrc")] + wheel_cuda_include_dirs(),
        extra_compile_args={
            "cxx": cxx_flags,
            "nvcc": ["-O3", "-std=c++20", "--expt-relaxed-constexpr"],
        },
    )


setup(
    packages=find_packages(include=["seq2seq_ext", "seq2seq_ext.*"]),
    package_data={"seq2seq_ext.nmt.data": ["samples/*.tsv"]},
    ext_modules=[extension()],
    cmdclass={"build_ext": cpp_extension.BuildExtension},
)
