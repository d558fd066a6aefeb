from . import test_till
from . import test_sync_race
from . import test_demo_till
