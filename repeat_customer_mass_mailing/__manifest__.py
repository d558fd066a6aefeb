{
    "name": "Repeat Customer CRM - Email Marketing",
    "summary": "Send Email Marketing mailings to loyalty members and RFM segments",
    "version": "18.0.1.0.0",
    "category": "Hidden",
    "website": "https://github.com/repeat-customer/repeat_customer",
    "author": "repeat_customer developers",
    "license": "LGPL-3",
    "depends": ["repeat_customer", "mass_mailing"],
    "data": ["views/customer_segment_views.xml"],
    "auto_install": True,
}
