from . import test_statistics
from . import test_rfm
from . import test_churn
from . import test_cron
from . import test_security
from . import test_settings
from . import test_ui
from . import test_demo
