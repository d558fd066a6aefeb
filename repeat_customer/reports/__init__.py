from . import customer_liability_xlsx
