"""Values of records of Odoo's own loyalty programmes."""

from odoo import Command


def coupon_program_vals(company, name, amount, mail_template=None):
    """Values of a native coupon programme: one coupon buys ``amount`` off
    the order (a programme created with only its type has no reward)."""
    vals = {
        "name": name,
        "program_type": "coupons",
        "company_id": company.id,
        "trigger": "with_code",
        "applies_on": "current",
        "reward_ids": [
            Command.create(
                {
                    "reward_type": "discount",
                    "discount": amount,
                    "discount_mode": "per_order",
                    "discount_applicability": "order",
                    "required_points": 1,
                    "description": f"{name}: {amount} off",
                }
            )
        ],
    }
    if mail_template:
        vals["communication_plan_ids"] = [
            Command.create({"trigger": "create", "mail_template_id": mail_template.id})
        ]
    return vals
