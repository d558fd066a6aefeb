import re
import secrets

import psycopg2.errors

from odoo import Command, http
from odoo.exceptions import UserError
from odoo.http import request
from odoo.tools import formatLang

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

HISTORY_STEP = 10
# recommended products the loyalty page shows
PORTAL_RECOMMENDATIONS = 6
# the one-time token of a rendered redeem form
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# a record id typed in a URL or posted by a form: ASCII digits, within
# PostgreSQL's integer range
ID_PATTERN = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1


def record_id(value):
    """The record id ``value`` (a URL or form value) holds, or None."""
    if isinstance(value, str) and ID_PATTERN.fullmatch(value):
        number = int(value)
        if 0 < number <= MAX_ID:
            return number
    return None


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
            # any member has a loyalty page to see (tier, rewards, coupons),
            # even with no points available
            membership = self._loyalty_membership()
            values["loyalty_points"] = (
                max(membership.points_balance, 0)
                + request.env["customer.coupon"]
                .sudo()
                .search_count(
                    [("membership_id", "=", membership.id), ("state", "=", "issued")]
                )
                + 1
                if membership
                else 0
            )
        return values

    @staticmethod
    def _loyalty_format_points(points, signed=False):
        """Points as the backend prints them (1,300), in the user's language."""
        text = formatLang(request.env, abs(points) if signed else points, digits=0)
        if signed:
            return ("+" if points >= 0 else "-") + text
        return text

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
                "rewards": request.env["customer.reward"]._available_for(
                    membership, customer_facing=True
                ),
                "recommendations": membership.recommendation_ids.filtered(
                    lambda r: r.product_id.active and r.product_id.sale_ok
                )[:PORTAL_RECOMMENDATIONS],
                "preference_attributes": self._loyalty_portal_attributes(membership),
                "preference_values": membership.preference_ids.value_id,
                "preferences_saved": kwargs.get("preferences_saved"),
                "format_points": self._loyalty_format_points,
                "redeem_token": lambda: secrets.token_urlsafe(24),
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
    def portal_my_loyalty(self, page=1, redeemed=None, preferences_saved=None, **kw):
        membership = self._loyalty_membership()
        if not membership:
            return request.render(
                "repeat_customer.portal_my_loyalty_none",
                dict(self._prepare_portal_layout_values(), page_name="loyalty"),
            )
        redeemed_coupon = None
        if record_id(redeemed):
            redeemed_coupon = (
                request.env["customer.coupon"]
                .sudo()
                .search(
                    [
                        ("id", "=", record_id(redeemed)),
                        ("membership_id", "=", membership.id),
                    ]
                )
            )
        return request.render(
            "repeat_customer.portal_my_loyalty",
            self._loyalty_values(
                membership,
                page=page,
                redeemed_coupon=redeemed_coupon,
                preferences_saved=bool(preferences_saved),
            ),
        )

    def _loyalty_portal_attributes(self, membership):
        return (
            request.env["customer.preference.attribute"]
            .sudo()
            .search(
                [
                    ("company_id", "=", membership.company_id.id),
                    ("portal_editable", "=", True),
                ]
            )
        )

    @http.route(
        "/my/loyalty/preferences",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_loyalty_preferences(self, **post):
        """Save the customer's values of the attributes customers may set
        (the form carries the CSRF token): one select per attribute, one
        checkbox per value of an attribute with several values. Values that
        are not allowed are ignored; staff's values of other attributes are
        left as they are."""
        membership = self._loyalty_membership()
        if not membership:
            return request.redirect("/my/loyalty")
        attributes = self._loyalty_portal_attributes(membership)
        chosen = request.env["customer.preference.value"].sudo()
        form = request.httprequest.form
        for attribute in attributes:
            ids = {record_id(v) for v in form.getlist(f"attribute_{attribute.id}")}
            values = attribute.value_ids.filtered(lambda v, ids=ids: v.id in ids)
            chosen |= values if attribute.multiple else values[:1]
        current = membership.preference_ids.filtered(
            lambda p: p.attribute_id in attributes
        )
        commands = [
            Command.unlink(p.id) for p in current if p.value_id not in chosen
        ] + [
            Command.create(
                {
                    "attribute_id": v.attribute_id.id,
                    "value_id": v.id,
                    "source": "portal",
                }
            )
            for v in chosen - current.value_id
        ]
        if commands:
            membership.write({"preference_ids": commands})
        return request.redirect("/my/loyalty?preferences_saved=1#preferences")

    @http.route(
        "/my/loyalty/redeem",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_loyalty_redeem(self, reward_id=None, token=None, **kw):
        """Redeem a reward for the logged-in customer (the form carries the
        CSRF token, checked by the framework for every POST, and a one-time
        token of its own: a form submitted twice redeems once)."""
        membership = self._loyalty_membership()
        if not membership:
            return request.redirect("/my/loyalty")
        if not token or not TOKEN_PATTERN.match(str(token)):
            return self._loyalty_error(
                membership,
                request.env._("This form has expired: please try again."),
            )
        done = self._loyalty_coupon_of_token(membership, token)
        if done:
            return request.redirect(f"/my/loyalty?redeemed={done.id}")
        reward = request.env["customer.reward"].sudo()
        if record_id(reward_id):
            reward = reward.browse(record_id(reward_id)).exists()
        error = None
        if not reward or reward.company_id != membership.company_id:
            error = request.env._("This reward does not exist.")
        elif reward.reward_type != "coupon":
            error = request.env._(
                "This reward is a discount on an order: ask for it when you order."
            )
        else:
            error = self._loyalty_customer_error(membership, reward)
        if not error:
            try:
                # a savepoint, so a refused redemption leaves nothing behind
                with request.env.cr.savepoint():
                    coupon = reward._redeem(membership)
                    coupon.portal_token = token
                    coupon.flush_recordset(["portal_token"])
            except UserError as exc:
                error = exc.args[0]
            except psycopg2.errors.UniqueViolation:
                # the same form, submitted at the same moment, redeemed first
                return request.redirect("/my/loyalty")
        if error:
            return self._loyalty_error(membership, error)
        return request.redirect(f"/my/loyalty?redeemed={coupon.id}")

    def _loyalty_error(self, membership, error):
        return request.render(
            "repeat_customer.portal_my_loyalty",
            self._loyalty_values(membership, error=error),
        )

    @staticmethod
    def _loyalty_coupon_of_token(membership, token):
        return (
            request.env["customer.coupon"]
            .sudo()
            .search(
                [("membership_id", "=", membership.id), ("portal_token", "=", token)],
                limit=1,
            )
        )

    def _loyalty_customer_error(self, membership, reward):
        """Why the customer cannot redeem ``reward``, said to them (None: they
        can); the ledger checks the balance again under its lock."""
        reason = reward._unavailable_reason(membership, customer_facing=True)
        if reason:
            return reason
        available = membership.points_balance
        if available < reward.points_cost:
            return request.env._(
                "You have %(available)s points available, not enough for "
                "%(reward)s (%(points)s points).",
                available=self._loyalty_format_points(available),
                reward=reward.name,
                points=self._loyalty_format_points(reward.points_cost),
            )
        return None
