def migrate(cr, version):
    """18.0.1.13.0 gives campaigns a lifecycle (draft, running, stopped)
    where they had an on/off switch (``active``, with archived campaigns
    shown in the list). Before the column gets its default (draft, which
    would silently stop every live campaign): enabled campaigns run,
    disabled ones that reached somebody are stopped, the others (the shipped
    campaigns never enabled) are drafts; all of them are unarchived, as
    the switch was never an archive."""
    if not version:
        return
    cr.execute(
        """
        ALTER TABLE customer_campaign ADD COLUMN IF NOT EXISTS state varchar;
        UPDATE customer_campaign c
           SET state = CASE
                   WHEN c.active THEN 'running'
                   WHEN EXISTS (SELECT 1 FROM customer_campaign_delivery d
                                 WHERE d.campaign_id = c.id) THEN 'stopped'
                   ELSE 'draft' END,
               active = TRUE
         WHERE c.state IS NULL;
        """
    )
