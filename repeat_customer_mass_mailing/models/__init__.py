from . import customer_membership
from . import customer_segment
