from odoo.tests import TransactionCase, tagged

from odoo.addons.mass_mailing.tests.common import MassMailCase


@tagged("post_install", "-at_install")
class TestMembersAsRecipients(MassMailCase, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.at_risk = cls.env.ref("repeat_customer.segment_at_risk")
        cls.members = cls.env["customer.membership"]
        for name in ("Ada", "Bo", "Cy", "Di"):
            partner = cls.env["res.partner"].create(
                {"name": name, "email": f"{name.lower()}@example.com"}
            )
            cls.members |= cls.env["customer.membership"].create(
                {"partner_id": partner.id, "company_id": cls.company.id}
            )
        cls.ada, cls.bo, cls.cy, cls.di = cls.members
        cls.bo.marketing_opt_out = True
        cls.env["mail.blacklist"].create({"email": "cy@example.com"})
        cls.env.cr.execute(
            "UPDATE customer_membership SET segment_id = %s WHERE id = ANY(%s)",
            [cls.at_risk.id, cls.members.ids],
        )
        cls.env["customer.membership"].invalidate_model()

    def test_memberships_are_a_mailing_model(self):
        model = self.env["ir.model"]._get("customer.membership")
        self.assertTrue(model.is_mailing_enabled)

    def test_segment_mailing_skips_opted_out_and_blacklisted(self):
        action = self.at_risk.action_send_mailing()
        context = action["context"]
        mailing = self.env["mailing.mailing"].create(
            {
                "subject": "We miss you",
                "body_html": "<p>Come back soon</p>",
                "mailing_type": "mail",
                "mailing_model_id": context["default_mailing_model_id"],
                "mailing_domain": context["default_mailing_domain"],
            }
        )
        with self.mock_mail_gateway():
            mailing.action_send_mail()
        mailed = {mail["email_to"][0] for mail in self._mails}
        self.assertIn("ada@example.com", ",".join(mailed))
        self.assertNotIn("bo@example.com", ",".join(mailed))
        self.assertNotIn("cy@example.com", ",".join(mailed))
        self.assertIn("di@example.com", ",".join(mailed))
        # a filter that drops the default condition still spares the opted out
        everyone = mailing.copy({"mailing_domain": "[]"})
        with self.mock_mail_gateway():
            everyone.action_send_mail()
        mailed = ",".join(mail["email_to"][0] for mail in self._mails)
        self.assertNotIn("bo@example.com", mailed)
        self.assertNotIn("cy@example.com", mailed)
