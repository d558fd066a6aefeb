from . import customer_purchase
from . import pos_config
from . import pos_order
from . import customer_membership
