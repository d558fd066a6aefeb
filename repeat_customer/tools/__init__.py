from . import bgnbd
from . import numbers
