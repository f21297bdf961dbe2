"""The compiled half of lattice_embed: argument checks, GIL release and calls into the C kernels.

Private: import the public names from ``lattice_embed.simd``. One extension module holds every
kernel family, so there is one dispatch table for the whole process.
"""
cimport numpy as cnp
import numpy as np

from lattice_embed._kernels._cdefs cimport *

cnp.import_array()

include "_arrays.pxi"
include "_runtime.pxi"
include "_dense.pxi"
include "_batch.pxi"
include "_quant.pxi"
include "_nn.pxi"
