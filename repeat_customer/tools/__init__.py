from . import bgnbd
from . import numbers
from . import scoring
from . import tiers
