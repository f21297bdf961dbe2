# CPU detection, tiers and the dispatch cap, as Python values.
import os

ISA_NAMES = tuple(le_isa_name(i).decode() for i in range(LE_ISA_COUNT))
CPU_FEATURE_NAMES = tuple(le_cpu_feature_name(i).decode() for i in range(LE_CPU_FEATURE_COUNT))
KERNEL_NAMES = tuple(le_kernel_name(k).decode() for k in range(LE_KERNEL_COUNT))
BUILD_INFO = le_build_info().decode()

cdef uint32_t _cpu_features = le_cpu_features()


cdef list _feature_names(uint32_t bits):
    return [name for i, name in enumerate(CPU_FEATURE_NAMES) if bits & (1u << i)]


def cpu_features():
    """{feature name: bool} for every feature the kernels care about (OS support included)."""
    return {name: bool(_cpu_features & (1u << i)) for i, name in enumerate(CPU_FEATURE_NAMES)}


def compiled_isas():
    """Tiers built into this extension, lowest first."""
    return [name for i, name in enumerate(ISA_NAMES) if le_isa_compiled(i)]


def cpu_isas():
    """Compiled tiers this CPU can run, lowest first."""
    return [
        name for i, name in enumerate(ISA_NAMES)
        if le_isa_compiled(i) and (le_isa_features(i) & _cpu_features) == le_isa_features(i)
    ]


def isa_cap():
    """The tier cap in force: the best tier kernels may use."""
    return ISA_NAMES[le_dispatch_cap()]


def kernel_isas():
    """{kernel name: tier serving it now}."""
    return {name: ISA_NAMES[le_kernel_isa(k)] for k, name in enumerate(KERNEL_NAMES)}


def set_isa_cap(tier):
    """Cap the kernels at `tier` (a name from ISA_NAMES); raises without changing anything if the
    name is unknown, not compiled in, or needs a feature this CPU lacks."""
    name = str(tier).strip().lower()
    if name not in ISA_NAMES:
        raise ValueError(f"unknown ISA tier {tier!r}; valid tiers: {', '.join(ISA_NAMES)}")
    cdef int isa = ISA_NAMES.index(name)
    if not le_isa_compiled(isa):
        raise RuntimeError(
            f"ISA tier {name!r} is not compiled into this build "
            f"(compiled: {', '.join(compiled_isas())})")
    missing = _feature_names(le_isa_features(isa) & ~_cpu_features)
    if missing:
        raise RuntimeError(
            f"ISA tier {name!r} needs CPU features this CPU lacks: {', '.join(missing)} "
            f"(this CPU runs: {', '.join(cpu_isas())})")
    if le_dispatch_set_cap(isa) != 0:
        raise RuntimeError(f"could not switch the kernels to ISA tier {name!r}")


def _initial_cap():
    """The best tier here, or LATTICE_EMBED_ISA when set (validated like set_isa_cap)."""
    requested = os.environ.get("LATTICE_EMBED_ISA", "").strip()
    if requested:
        try:
            set_isa_cap(requested)
        except (ValueError, RuntimeError) as exc:
            raise type(exc)(f"LATTICE_EMBED_ISA: {exc}") from None
        return requested.lower()
    le_dispatch_set_cap(le_isa_best())
    return None


#: The tier LATTICE_EMBED_ISA asked for at import, or None.
ENV_ISA = _initial_cap()
