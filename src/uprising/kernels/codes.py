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
VIOLENT = 5  # an active citizen who has escalated to violence (attacks police and sites); counts as active in A
KIND_MASK = 0x3F
MARK_BIT = 0x40  # "has been active" (set only when IP_MARK is on; detention sweeps look for it)
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
IP_ESCALATION = 14  # 1: actives beyond the violence margin turn violent (uprising.mechanisms.escalation)
IP_MARK = 15  # 1: citizens who turn active are marked for later detention sweeps
IP_JAIL_CAPACITY = 16  # most prisoners at once; -1: unlimited (Model I)
IP_SIZE = 17

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
CT_VIOLENT = 7  # violent citizens on the lattice (CT_ACTIVE counts the peaceful actives only)
CT_COPS_LOST = 8  # cops killed or injured: the cop schedule's target is lowered by this many
CT_SIZE = 9

# columns of the per-step output
OUT_QUIET = 0
OUT_ACTIVE = 1
OUT_JAILED = 2
OUT_COPS = 3
OUT_ARRESTS = 4
OUT_RELEASES = 5
OUT_SIZE = 6
OUT_NAMES = ("quiet", "active", "jailed", "cops", "arrests", "releases")
# further columns written by the kernel; Model I's driver keeps the first OUT_SIZE
OUT_VIOLENT = 6
OUT_KILLED_PROTESTERS = 7
OUT_KILLED_BYSTANDERS = 8
OUT_KILLED_SECURITY = 9
OUT_INJURED_SECURITY = 10
OUT_INJURED_PROTESTERS = 11
OUT_SITE_ATTACKS = 12
OUT_SWEPT = 13  # detained by a sweep (not caught in the act; not in OUT_ARRESTS)
OUT_REFUSED = 14  # arrests not made because the jail was full
OUT_ALL_SIZE = 15
OUT_ALL_NAMES = OUT_NAMES + ("violent", "killed_protesters", "killed_bystanders", "killed_security",
                             "injured_security", "injured_protesters", "site_attacks", "swept", "refused")

# per-step float inputs of the kernel (``fp[t, FP_*]``); all zeros is Model I exactly
FP_HARDSHIP_SHIFT = 0  # added to every citizen's hardship (uprising.mechanisms.price)
FP_EXTERNAL = 1  # added to G - R*P in rule A (uprising.mechanisms.contagion)
FP_THRESHOLD_SHIFT = 2  # added to the threshold T (uprising.mechanisms.emergency: gathering ban)
FP_STAY = 3  # probability that a citizen skips rule M in an activation (curfew, state of emergency)
FP_VIOLENCE_MARGIN = 4  # an active citizen is violent when G - R*P + external > T + margin (IP_ESCALATION)
FP_KILL_VIOLENT = 5  # probability that a cop's use of force on a violent citizen kills (lethal force)
FP_KILL_ACTIVE = 6  # the same for a peaceful active citizen
FP_INJURE = 7  # probability that an arrestee is injured
FP_BYSTANDER = 8  # probability that a killing also kills a quiet bystander within the cop's vision
FP_ATTACK = 9  # probability that a violent citizen attacks a cop within its vision
FP_ATTACK_KILL = 10  # probability that an attacked cop dies (otherwise injured; both leave duty)
FP_SITE_ATTACK = 11  # probability that a violent citizen attacks a government site (a count)
FP_SWEEP = 12  # probability that a marked quiet citizen is detained in its activation
FP_RELEASE = 13  # probability that a prisoner is released early in a step
FP_PENALTY = 14  # net risk is R * P * (1 + penalty): a harsher cost of being caught (lethal force's fear)
FP_COP_IDLE = 15  # probability that a cop who sees active citizens leaves them be in an activation
FP_EXPOSURE = 16  # tail index a of the exposure w = (1 - a) R^-a that scales the shift and the push (0: w = 1)
FP_EXPOSURE_MAX = 17  # the most exposure any citizen has: w = min(w, FP_EXPOSURE_MAX) (0: no cap)
FP_RESIST = 18  # probability that each person of a violent citizen a cop uses force on injures one of the police
# (counted in people only: Binomial(people of the agent, FP_RESIST) security injured; no lattice draw)
FP_CORE = 19  # share of citizens, those of risk aversion R < FP_CORE, who are violent whenever active (an organised core)
FP_CORE_PEOPLE = 20  # share of each active citizen's people who are violent (an organised core among the crowd's
# people; counted in people only: Binomial(people of the agent, FP_CORE_PEOPLE) drawn at each act, no lattice draw)
FP_RETURN_FIRE = 21  # probability that an attacker is killed by the police it attacks (in people only: Binomial(the
# attacks of a step's violent people, FP_RETURN_FIRE) protesters killed; no lattice draw)
FP_CORE_UNDETERRED = 22  # 1: with FP_CORE_PEOPLE, the core among an aggrieved citizen's people (G + E > T) is out and
# violent even where the risk of arrest keeps the citizen quiet (organised groups not deterred; people only)
FP_AWAY = 23  # probability that a citizen is away (at work, at home, asleep) in an activation: quiet for the hour,
# whatever its grievance (biographical availability; uprising.mechanisms.availability)
FP_SIZE = 24

# columns of the per-step output in PEOPLE (``people_out``; Scheffer et al. 1995 super-individuals): written
# when the kernel's ``people_per_agent`` is positive, from the separate ``people_rng`` stream, so the lattice's
# trajectory is the same whether they are counted or not (docs/country-model.md, "Casualties in people")
PEOPLE_KILLED_PROTESTERS = 0
PEOPLE_KILLED_BYSTANDERS = 1
PEOPLE_KILLED_SECURITY = 2
PEOPLE_INJURED_SECURITY = 3
PEOPLE_INJURED_PROTESTERS = 4
PEOPLE_ARRESTS = 5
PEOPLE_SWEPT = 6
PEOPLE_PARTICIPANTS = 7  # people newly active or violent on the step's day (only with the day marks on)
PEOPLE_VIOLENT = 8  # people violent in their activation of the step: a violent agent's, and the core among an active's
PEOPLE_SIZE = 9
PEOPLE_NAMES = ("killed_protesters", "killed_bystanders", "killed_security", "injured_security",
                "injured_protesters", "arrests", "swept", "participants", "violent_people")

MOVE_TRIES = 32  # rejection-sampling tries before enumerating the empty cells in vision
