"""Integer codes shared by the kernels, their reference twins and the model layer.

Cell contents (``occupant``, uint8): the low 7 bits hold what is on the cell; the
high bit is the "has acted this step" flag, whose meaning flips every step
(see :func:`uprising.kernels.lattice.run_steps`).

numba freezes these values into the cached machine code of the kernels, and its
cache is keyed on the kernel's own source file only: after changing a value here,
delete the cache (``find src -name '*.nb[ic]' -delete``).
"""

EMPTY = 0
QUIET = 1
ACTIVE = 2
JAILED = 3  # a jailed citizen holding its cell (Mesa's rule)
COP = 4
KIND_MASK = 0x7F
ACTED_BIT = 0x80

# positions in the integer parameter vector ``ip``
IP_WIDTH = 0
IP_HEIGHT = 1
IP_MOVEMENT = 2
IP_MOVE_FIRST = 3  # 1: move, then act (paper, NetLogo); 0: act, then move (Mesa)
IP_OWN_CELL = 4  # 1: the agent's own cell is in its vision (NetLogo: an active agent counts itself twice)
IP_COP_TO_ARRESTEE = 5
IP_HOLD_CELL = 6  # 1: jailed citizens keep their cell (Mesa); 0: they leave the lattice
IP_COUNTDOWN_OWN = 7  # 1: jail countdown in the prisoner's own activation (Mesa); 0: at the end of the step
IP_JAIL_TERM = 8  # JAIL_* below
IP_MAX_JAIL = 9  # J_max in steps; -1 means forever
IP_ACTIVATION = 10  # ACT_* below
IP_TILE = 11
IP_SAME_SHAPE = 12  # 1 when cop vision equals citizen vision (enables a fast skip)
IP_COP_MOVEMENT = 13  # rule M for cops (IP_MOVEMENT is for citizens)
IP_SIZE = 14

JAIL_UNIFORM_INCLUSIVE = 0  # integer U{0..J_max} (Mesa)
JAIL_UNIFORM_EXCLUSIVE = 1  # integer U{0..J_max-1} (NetLogo)
JAIL_FIXED = 2  # exactly J_max

ACT_RANDOM_SEQUENTIAL = 0
ACT_TILED = 1

# positions in the running counters vector
CT_QUIET = 0
CT_ACTIVE = 1
CT_JAILED = 2
CT_COPS = 3
CT_POOL = 4  # prisoners held off the lattice
CT_STEP = 5  # global step index (drives the acted-flag parity)
CT_LOG = 6  # arrest-log rows written
CT_SIZE = 7

# columns of the per-step output
OUT_QUIET = 0
OUT_ACTIVE = 1
OUT_JAILED = 2
OUT_COPS = 3
OUT_ARRESTS = 4
OUT_RELEASES = 5
OUT_SIZE = 6
OUT_NAMES = ("quiet", "active", "jailed", "cops", "arrests", "releases")

MOVE_TRIES = 32  # rejection-sampling tries before enumerating the empty cells in vision
