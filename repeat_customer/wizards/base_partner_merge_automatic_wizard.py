from odoo import models


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    """Odoo's *Merge Contacts*: the customers' memberships are merged too
    (as Odoo's own ``loyalty`` merges their cards), by their salesperson or
    a manager only."""

    _inherit = "base.partner.merge.automatic.wizard"

    def _update_foreign_keys(self, src_partners, dst_partner):
        # a merge moves the members it involves to the surviving contact
        # (and its salesperson): only their salesperson or a manager may
        (src_partners | dst_partner).with_env(self.env)._check_member_move()
        # sudo: merging contacts is a right of its own (Odoo checks it); the
        # memberships follow the contacts whoever may see them
        memberships = self.env["customer.membership"].sudo()
        survivors = memberships._merge_partners(src_partners, dst_partner)
        result = super()._update_foreign_keys(src_partners, dst_partner)
        survivors._merge_recompute()
        return result
