from . import bgnbd
