from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

HISTORY_STEP = 10


class LoyaltyPortal(CustomerPortal):
    """``/my/loyalty``: a customer's own membership, points, rewards and
    coupons. Portal users have no access rights on the loyalty models: the
    routes read them as superuser, always filtered on the logged-in user's
    own customer, so nobody can reach another customer's data."""

    def _loyalty_membership(self):
        """The logged-in customer's membership in the current company (or
        their first one), as superuser; an empty recordset if none."""
        partner = request.env.user.partner_id.commercial_partner_id
        memberships = (
            request.env["customer.membership"]
            .sudo()
            .search([("partner_id", "=", partner.id)], order="id")
        )
        current = memberships.filtered(lambda m: m.company_id == request.env.company)
        return current[:1] or memberships[:1]

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "loyalty_points" in counters:
            membership = self._loyalty_membership()
            values["loyalty_points"] = membership.points_balance if membership else 0
        return values

    def _loyalty_values(self, membership, page=1, **kwargs):
        entries = request.env["customer.point.entry"].sudo()
        domain = [("membership_id", "=", membership.id)]
        total = entries.search_count(domain)
        pager = portal_pager(
            url="/my/loyalty",
            total=total,
            page=page,
            step=HISTORY_STEP,
        )
        history = entries.search(
            domain, limit=HISTORY_STEP, offset=pager["offset"], order="id desc"
        )
        coupons = (
            request.env["customer.coupon"]
            .sudo()
            .search(
                [("membership_id", "=", membership.id), ("state", "=", "issued")],
                order="expiration_date, id",
            )
        )
        figure = membership.tier_qualifying_value
        missing = membership.next_tier_missing
        progress = (
            round(100.0 * figure / (figure + missing))
            if membership.next_tier_id
            else 100
        )
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "loyalty",
                "membership": membership,
                "tier_progress": max(min(progress, 100), 0),
                "history": history,
                "pager": pager,
                "rewards": request.env["customer.reward"]._available_for(membership),
                "coupons": coupons.filtered(
                    lambda c: c.card_id.active and c.card_id.points > 0
                ),
                "redeemed_coupon": kwargs.get("redeemed_coupon"),
                "error": kwargs.get("error"),
            }
        )
        return values

    @http.route(
        ["/my/loyalty", "/my/loyalty/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_loyalty(self, page=1, redeemed=None, **kw):
        membership = self._loyalty_membership()
        if not membership:
            return request.render(
                "repeat_customer.portal_my_loyalty_none",
                dict(self._prepare_portal_layout_values(), page_name="loyalty"),
            )
        redeemed_coupon = None
        if redeemed and str(redeemed).isdigit():
            redeemed_coupon = (
                request.env["customer.coupon"]
                .sudo()
                .search(
                    [("id", "=", int(redeemed)), ("membership_id", "=", membership.id)]
                )
            )
        return request.render(
            "repeat_customer.portal_my_loyalty",
            self._loyalty_values(
                membership, page=page, redeemed_coupon=redeemed_coupon
            ),
        )

    @http.route(
        "/my/loyalty/redeem",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_loyalty_redeem(self, reward_id=None, **kw):
        """Redeem a reward for the logged-in customer (the form carries the
        CSRF token, checked by the framework for every POST)."""
        membership = self._loyalty_membership()
        if not membership:
            return request.redirect("/my/loyalty")
        reward = request.env["customer.reward"].sudo()
        if reward_id and str(reward_id).isdigit():
            reward = reward.browse(int(reward_id)).exists()
        error = None
        if not reward or reward.company_id != membership.company_id:
            error = request.env._("This reward does not exist.")
        elif reward.reward_type != "coupon":
            error = request.env._(
                "This reward is a discount on an order: ask for it when you order."
            )
        else:
            try:
                # a savepoint, so a refused redemption leaves nothing behind
                with request.env.cr.savepoint():
                    coupon = reward._redeem(membership)
            except UserError as exc:
                error = exc.args[0]
        if error:
            return request.render(
                "repeat_customer.portal_my_loyalty",
                self._loyalty_values(membership, error=error),
            )
        return request.redirect(f"/my/loyalty?redeemed={coupon.id}")
