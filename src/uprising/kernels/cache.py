"""Whether the numba kernels are ready in this process, waiting in numba's on-disk cache, or must be compiled.

numba compiles a kernel at its first call in a process (tens of seconds to minutes for the lattice
kernels) unless its on-disk cache holds machine code for this source, this CPU and this numba; then
the first call loads it in about a second. The edges say so to the user (issue 13, item 10: a cold first
run was silent for minutes): the command line prints "compiling kernels (first run only)", the explorer
shows it as the job's phase.
"""

from __future__ import annotations

#: the entry kernels are compiled in this process already
READY = "ready"
#: numba's cache on disk holds them for this source and CPU: the first call loads them
CACHED = "cached"
#: the first call compiles them
COLD = "cold"
#: numba's cache internals could not be read (another numba version): nothing can be said
UNKNOWN = "unknown"


def kernel_state() -> str:
    """:data:`READY`, :data:`CACHED`, :data:`COLD` or :data:`UNKNOWN` for the entry kernels (``run_steps``,
    ``build_fields``), read from their dispatchers and from numba's own cache index (an index written for
    another source or CPU counts as empty), so it says what the next run will do."""
    from numba.core.registry import cpu_target

    from .lattice import build_fields, run_steps

    kernels = (run_steps, build_fields)
    if all(k.signatures for k in kernels):
        return READY
    codegen = cpu_target.target_context.codegen()
    for kernel in kernels:
        if kernel.signatures:
            continue
        try:
            cache = kernel._cache
            index = cache._cache_file._load_index()
            warm = any(cache._index_key(key[0], codegen) == key for key in index)
        except Exception:  # noqa: BLE001 - numba's private cache interface differs between versions
            return UNKNOWN
        if not warm:
            return COLD
    return CACHED
