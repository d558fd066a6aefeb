from . import res_company
from . import res_config_settings
from . import customer_segment
from . import customer_membership
from . import customer_rfm_snapshot
from . import customer_demo_generator
from . import res_partner
from . import sale_order
