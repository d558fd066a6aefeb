"""The public satisfaction survey page: the link a customer gets by mail."""

from odoo import http
from odoo.exceptions import ValidationError
from odoo.http import request
from odoo.tools.misc import format_date

# answers on the page: NPS 0-10, CSAT 1-5 (the model checks them again)
NPS_SCORES = list(range(11))
CSAT_SCORES = list(range(1, 6))


class LoyaltyFeedback(http.Controller):
    @http.route(
        "/loyalty/feedback/<string:token>",
        type="http",
        auth="public",
        methods=["GET"],
        sitemap=False,
    )
    def feedback_page(self, token, **_kwargs):
        feedback = request.env["customer.feedback"]._find_by_token(token)
        refused = self._refused(feedback)
        if refused:
            return refused
        return self._render(feedback, "repeat_customer.feedback_page")

    @http.route(
        "/loyalty/feedback/<string:token>",
        type="http",
        auth="public",
        methods=["POST"],
        sitemap=False,
    )
    def feedback_submit(self, token, nps=None, csat=None, comment=None, **_kwargs):
        feedback = request.env["customer.feedback"]._find_by_token(token)
        refused = self._refused(feedback)
        if refused:
            return refused
        # a NUL byte is no text PostgreSQL stores: the comment without it
        comment = (comment if isinstance(comment, str) else "").replace("\x00", "")
        values = {"nps": _score(nps), "csat": _score(csat), "comment": comment}
        try:
            # sudo: the token was checked above; it is the customer's right
            # to answer this one survey, and nothing else
            recorded = feedback.sudo()._answer(
                values["nps"], values["csat"], comment[:4000]
            )
        except ValidationError as error:
            return self._render(
                feedback,
                "repeat_customer.feedback_page",
                {"error": error.args[0], **values},
                status=400,
            )
        if not recorded:
            return self._render(
                feedback, "repeat_customer.feedback_answered", status=409
            )
        return self._render(feedback, "repeat_customer.feedback_thanks")

    def _refused(self, feedback):
        """The page of a link that takes no answer, or None: an unknown or
        forged token (404), an expired survey (410), one already answered
        (409)."""
        if not feedback:
            return self._render(
                feedback, "repeat_customer.feedback_invalid", status=404
            )
        if feedback.state == "answered":
            return self._render(
                feedback, "repeat_customer.feedback_answered", status=409
            )
        if feedback._is_expired():
            return self._render(
                feedback, "repeat_customer.feedback_expired", status=410
            )
        return None

    def _render(self, feedback, template, values=None, status=200):
        """``template`` in the customer's language (the visitor's for an
        unknown link)."""
        lang = (feedback.partner_id.lang if feedback else None) or request.env.lang
        env = request.env(context=dict(request.env.context, lang=lang))
        dates = {}
        if feedback:
            survey = feedback.sudo()
            dates = {
                "order_date": format_date(env, survey.order_id.date_order, lang)
                if survey.order_id
                else "",
                "expiry_date": format_date(env, survey.expiry_date, lang),
            }
        html = (
            request.env["ir.ui.view"]
            .sudo()
            .with_context(lang=lang)
            ._render_template(
                template,
                {
                    "feedback": feedback.sudo(),
                    "company": feedback.company_id.sudo()
                    if feedback
                    else request.env.company.sudo(),
                    "nps_scores": NPS_SCORES,
                    "csat_scores": CSAT_SCORES,
                    **dates,
                    **(values or {}),
                },
            )
        )
        return request.make_response(
            html, headers=[("Content-Type", "text/html; charset=utf-8")], status=status
        )


def _score(value):
    """The integer of a radio button of the form ("0" to "10"), or None for
    anything else (the model then refuses a missing answer)."""
    if isinstance(value, str) and len(value) <= 2 and value.isascii():
        if value.isdigit():
            return int(value)
    return None
