from contextlib import contextmanager

from odoo import api, fields, models
from odoo.exceptions import AccessError

# fields of a coupon issued by the loyalty programme that only its own code
# (and the order flows that use or free the coupon) may change
PROTECTED_CARD_FIELDS = {
    "points",
    "code",
    "partner_id",
    "program_id",
    "expiration_date",
}
# cursor-scoped (never reachable from a request) set of card ids whose points
# an order being confirmed or cancelled may move
ORDER_CARDS_KEY = "repeat_customer.order_cards"


class LoyaltyCard(models.Model):
    _inherit = "loyalty.card"

    customer_coupon_ids = fields.One2many(
        "customer.coupon",
        "card_id",
        string="Issued by the Loyalty Programme",
        readonly=True,
    )

    @api.model
    @contextmanager
    def _loyalty_order_updates(self, cards):
        """While confirming or cancelling orders, let Odoo's coupon flow move
        the points of ``cards`` (it uses or frees them as the user)."""
        allowed = self.env.cr.cache.setdefault(ORDER_CARDS_KEY, set())
        added = set(cards.ids) - allowed
        allowed |= added
        try:
            yield
        finally:
            allowed -= added

    def write(self, vals):
        if not self.env.su and PROTECTED_CARD_FIELDS & set(vals):
            self._loyalty_check_protected(vals)
        return super().write(vals)

    def _loyalty_check_protected(self, vals):
        ours = self.sudo().filtered("customer_coupon_ids")
        if not ours:
            return
        fnames = PROTECTED_CARD_FIELDS & set(vals)
        allowed = self.env.cr.cache.get(ORDER_CARDS_KEY, set())
        if fnames == {"points"} and set(ours.ids) <= allowed:
            return
        raise AccessError(
            self.env._(
                "Coupon %(code)s was issued by the loyalty programme: its "
                "balance, code, customer and expiry change only when it is used "
                "on an order, or when a loyalty manager cancels it.",
                code=ours[0].code,
            )
        )
