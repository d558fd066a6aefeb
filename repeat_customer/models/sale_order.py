from odoo import api, fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    loyalty_membership_id = fields.Many2one(
        "customer.membership",
        string="Membership",
        compute="_compute_loyalty_membership_id",
        help="The customer's membership in the order's company.",
    )

    @api.depends("partner_id", "company_id")
    def _compute_loyalty_membership_id(self):
        memberships = self.env["customer.membership"].search(
            [
                ("partner_id", "in", self.partner_id.commercial_partner_id.ids),
                ("company_id", "in", self.company_id.ids),
            ]
        )
        by_key = {(m.partner_id.id, m.company_id.id): m for m in memberships}
        for order in self:
            order.loyalty_membership_id = by_key.get(
                (order.partner_id.commercial_partner_id.id, order.company_id.id),
                False,
            )

    def _action_confirm(self):
        result = super()._action_confirm()
        self._loyalty_refresh(enrol=True)
        return result

    def _action_cancel(self):
        result = super()._action_cancel()
        self._loyalty_refresh(enrol=False)
        return result

    def _loyalty_refresh(self, enrol):
        """Enrol the customers of these orders (per setting) and refresh their
        statistics: one INSERT and one UPDATE per company, whatever the number
        of orders."""
        # sudo: whoever may confirm or cancel the order may update its customer's
        # figures, which are computed from documents only and never typed in.
        memberships_model = self.env["customer.membership"].sudo()
        for company in self.company_id:
            orders = self.filtered(lambda o, c=company: o.company_id == c)
            partners = orders.partner_id.commercial_partner_id
            if enrol and company.loyalty_auto_enroll:
                memberships = memberships_model._enrol_partners(company, partners)
            else:
                memberships = memberships_model.search(
                    [
                        ("partner_id", "in", partners.ids),
                        ("company_id", "=", company.id),
                    ]
                )
            memberships._refresh_figures()
