from . import xlsx_table
from . import customer_liability_xlsx
from . import customer_analytics_xlsx
