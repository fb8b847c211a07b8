"""liveart: live neural visuals (Deep Dream and style transfer) for stage and gallery."""

from . import cpu_threads as _cpu_threads

# first, before anything imports torch: OpenMP reads its settings once, when torch loads it
_cpu_threads.configure()

__version__ = "0.1.0"
