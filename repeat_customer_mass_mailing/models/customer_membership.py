from odoo import models
from odoo.tools import SQL


class CustomerMembership(models.Model):
    """Members as the recipients of an Email Marketing mailing: the mailing
    reaches each member's customer, in the member's company, never a member
    who opted out of marketing or whose address is on the blacklist."""

    _inherit = "customer.membership"
    _mailing_enabled = True

    def _mailing_get_default_domain(self, mailing):
        return [("state", "=", "active"), ("marketing_opt_out", "=", False)]

    def _mailing_get_opt_out_list(self, mailing):
        """Normalized addresses the mailing must not reach: those of members
        who opted out of marketing (a mailing's filter may have dropped the
        default condition) and those on the mail blacklist (memberships are
        no blacklist mixin, so Odoo's own exclusion does not see them)."""
        self.env["customer.membership"].flush_model(["marketing_opt_out"])
        self.env["res.partner"].flush_model(["email_normalized"])
        self.env.cr.execute(
            SQL(
                """
                SELECT p.email_normalized
                  FROM customer_membership m
                  JOIN res_partner p ON p.id = m.partner_id
                 WHERE m.marketing_opt_out AND p.email_normalized IS NOT NULL
                 UNION
                SELECT email FROM mail_blacklist WHERE active
                """
            )
        )
        return {email for (email,) in self.env.cr.fetchall()}
