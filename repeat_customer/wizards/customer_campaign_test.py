from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.mail import email_split_and_format

from ..tools.numbers import one_record


class CustomerCampaignTest(models.TransientModel):
    """*Send a Test*: the campaign's message as one member of its audience
    would get it (their name, a coupon code, their points), sent to the user
    instead of the member. The coupon, points and survey the message shows
    are made for the rendering and undone at once (a savepoint rolled back):
    a test gives nobody anything and counts nowhere."""

    _name = "customer.campaign.test"
    _inherit = ["customer.values.mixin"]
    _description = "Campaign Test Message"

    campaign_id = fields.Many2one(
        "customer.campaign", string="Campaign", required=True, readonly=True
    )
    company_id = fields.Many2one(related="campaign_id.company_id")
    channel = fields.Selection(related="campaign_id.channel")
    membership_id = fields.Many2one(
        "customer.membership",
        string="As Member",
        required=True,
        domain="[('company_id', '=', company_id)]",
        help="The member whose name, coupon and points fill the message.",
    )
    email_to = fields.Char(
        string="Send To (Email)",
        help="Where the test goes; the member gets nothing.",
    )
    phone = fields.Char(
        string="Send To (Mobile)",
        help="Where the test goes; the member gets nothing.",
    )

    @api.model
    def _open_for(self, campaign):
        campaign = one_record(campaign)
        if campaign.channel == "none":
            raise UserError(
                self.env._(
                    "The campaign %(campaign)s sends no message: there is nothing "
                    "to test. Dry Run shows whom it would reach.",
                    campaign=campaign.name,
                )
            )
        Membership = self.env["customer.membership"]
        member = Membership.search(
            campaign._audience_domain(), limit=1
        ) or Membership.search([("company_id", "=", campaign.company_id.id)], limit=1)
        if not member:
            raise UserError(
                self.env._(
                    "%(company)s has no member yet: a test needs one whose data "
                    "fills the message.",
                    company=campaign.company_id.name,
                )
            )
        user = self.env.user
        wizard = self.create(
            {
                "campaign_id": campaign.id,
                "membership_id": member.id,
                "email_to": user.email_formatted if user.email else False,
                "phone": user.partner_id.phone_sanitized
                or user.mobile
                or user.phone
                or False,
            }
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Send a Test of %(campaign)s", campaign=campaign.name),
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_send(self):
        wizard = one_record(self)
        campaign = wizard.campaign_id
        campaign.check_access("write")
        member = wizard.membership_id
        member.check_access("read")
        if member.company_id != campaign.company_id:
            raise UserError(
                self.env._(
                    "%(member)s is not a member of %(company)s.",
                    member=member.display_name,
                    company=campaign.company_id.name,
                )
            )
        if campaign.channel == "none":
            raise UserError(
                self.env._(
                    "The campaign %(campaign)s sends no message.",
                    campaign=campaign.name,
                )
            )
        sender = getattr(wizard, f"_send_test_{campaign.channel}", None)
        if sender is None:
            raise UserError(
                self.env._(
                    "A test of this channel cannot be sent from here.",
                )
            )
        done, lines = sender(campaign, member)
        campaign._message_log(body=Markup("<br/>").join(lines))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if done else "danger",
                "message": " ".join(lines),
                "sticky": not done,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _rendered(self, campaign, member, render):
        """``render(delivery)`` on a delivery of ``campaign`` to ``member``
        made with its actions (coupon, points, survey, activity), then
        undone: the savepoint is rolled back whatever happens."""
        savepoint = self.env.cr.savepoint()
        try:
            today = campaign.company_id._loyalty_today()
            delivery = (
                self.env["customer.campaign.delivery"]
                .sudo()
                .create(
                    {
                        "campaign_id": campaign.id,
                        "membership_id": member.id,
                        "company_id": campaign.company_id.id,
                        "partner_id": member.partner_id.id,
                        "user_id": member.user_id.id,
                        "occurrence_key": "test",
                        "occasion_date": today,
                        "delivery_date": today,
                        "state": "to_send",
                        "channel": campaign.channel,
                    }
                )
            )
            delivery._send_actions(campaign.sudo())
            return render(delivery)
        finally:
            savepoint.close(rollback=True)
            self.env.invalidate_all()

    def _send_test_mail(self, campaign, member):
        """The campaign's mail, rendered in the member's language, to the
        addresses typed (one per line or comma-separated)."""
        addresses = email_split_and_format(self.email_to or "")
        if not addresses:
            raise UserError(self.env._("Type the email address the test goes to."))
        template = campaign.mail_template_id.sudo()
        values = self._rendered(
            campaign,
            member,
            lambda delivery: template._generate_template(
                delivery.ids, ("subject", "body_html", "email_from", "reply_to")
            )[delivery.id],
        )
        mails = (
            self.env["mail.mail"]
            .sudo()
            .create(
                [
                    {
                        "subject": self.env._(
                            "[Test] %(subject)s", subject=values.get("subject") or ""
                        ),
                        "body_html": values.get("body_html") or "",
                        "email_from": values.get("email_from")
                        or self.env.user.email_formatted,
                        "reply_to": values.get("reply_to"),
                        "email_to": address,
                        "is_notification": True,
                        "auto_delete": False,
                        "model": "customer.campaign",
                        "res_id": campaign.id,
                    }
                    for address in addresses
                ]
            )
        )
        mails.send(raise_exception=False)
        sent = mails.filtered(lambda m: m.state == "sent")
        failed = mails - sent
        lines = [
            self.env._(
                "Test email (as %(member)s) sent to %(address)s.",
                member=member.display_name,
                address=mail.email_to,
            )
            for mail in sent
        ] + [
            self.env._(
                "Test email to %(address)s could not be sent: %(reason)s",
                address=mail.email_to,
                reason=mail.failure_reason or mail.state,
            )
            for mail in failed
        ]
        mails.unlink()
        return not failed, lines

    def _send_test_sms(self, campaign, member):
        """The campaign's SMS, rendered in the member's language, to the
        mobile number typed, through Odoo's SMS service at once."""
        number = self.env.user._phone_format(number=(self.phone or "").strip())
        # E.164: at most 15 digits; fewer than 7 is no mobile number (the
        # check phone_validation makes when the phonenumbers library is
        # missing: none)
        if not number or not 7 <= sum(c.isdigit() for c in number) <= 15:
            raise UserError(
                self.env._(
                    "Type the mobile number the test goes to (%(number)s is not "
                    "a valid one).",
                    number=self.phone or "",
                )
            )
        template = campaign.sms_template_id.sudo()
        body = self._rendered(
            campaign,
            member,
            lambda delivery: template._render_field(
                "body", delivery.ids, compute_lang=True
            )[delivery.id],
        )
        sms = self.env["sms.sms"].sudo().create({"number": number, "body": body})
        sms._send(unlink_failed=False, unlink_sent=False)
        done = sms.state in ("pending", "sent")
        if done:
            message = self.env._(
                "Test SMS (as %(member)s) sent to %(number)s.",
                member=member.display_name,
                number=number,
            )
        else:
            failure = dict(sms._fields["failure_type"]._description_selection(self.env))
            message = self.env._(
                "Test SMS to %(number)s could not be sent: %(reason)s",
                number=number,
                reason=failure.get(sms.failure_type) or sms.state,
            )
        sms.unlink()
        return done, [message]
