{
    "name": "Repeat Customer CRM - Point of Sale",
    "summary": "Till orders count as purchases of loyalty members, per store",
    "version": "18.0.1.0.0",
    "category": "Hidden",
    "website": "https://github.com/repeat-customer/repeat_customer",
    "author": "repeat_customer developers",
    "license": "LGPL-3",
    "depends": ["repeat_customer", "point_of_sale"],
    "data": ["views/pos_config_views.xml"],
    "post_init_hook": "post_init_hook",
    "uninstall_hook": "uninstall_hook",
    "auto_install": True,
}
