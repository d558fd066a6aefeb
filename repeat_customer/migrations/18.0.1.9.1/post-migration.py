def migrate(cr, version):
    """18.0.1.9.1 keys the profile lines and the recommendations by member
    and rank (a unique index, which also serves the lookups by member): the
    former index on the member alone only slows their writes down."""
    if version:
        cr.execute(
            """
            DROP INDEX IF EXISTS customer_profile_category__membership_id_index,
                                 customer_profile_product__membership_id_index,
                                 customer_recommendation__membership_id_index
            """
        )
