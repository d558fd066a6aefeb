from . import portal
from . import feedback
from . import service
