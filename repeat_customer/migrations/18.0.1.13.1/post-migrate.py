from lxml import etree

from odoo import SUPERUSER_ID, api
from odoo.tools import file_open
from odoo.tools.translate import TranslationImporter, get_po_paths

TEMPLATE = "mail_template_service_solved"


def migrate(cr, version):
    """18.0.1.13.1: the *solved* mail of service requests says what the
    customer was given (the points, the coupon and its code). The template
    is ``noupdate`` (it is the company's to edit): it is brought up to date
    only when it is still the one shipped before."""
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    template = env.ref(f"repeat_customer.{TEMPLATE}", raise_if_not_found=False)
    if not template:
        return
    body = template.with_context(lang="en_US").body_html or ""
    if "point_entry_id" in body or "simply reply to this message" not in body:
        return
    with file_open("repeat_customer/data/customer_service_data.xml", "rb") as data:
        root = etree.parse(data).getroot()
    [field] = root.xpath(f"//record[@id='{TEMPLATE}']/field[@name='body_html']")
    shipped = "".join(etree.tostring(child, encoding="unicode") for child in field)
    template.with_context(lang="en_US").body_html = shipped
    # and its translations, of this template only
    importer = TranslationImporter(cr, verbose=False)
    for lang, _name in env["res.lang"].get_installed():
        if lang != "en_US":
            for path in get_po_paths("repeat_customer", lang, env=env):
                importer.load_file(path, lang, xmlids={f"repeat_customer.{TEMPLATE}"})
    importer.save(overwrite=True, force_overwrite=True)
