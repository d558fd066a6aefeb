def migrate(cr, version):
    """18.0.1.12.0 records who granted a complaint's compensation, when, and
    the value of its coupon (the per-customer limit adds them up over a
    period): complaints compensated before it get them from their points
    line or coupon, in one statement."""
    if not version:
        return
    cr.execute(
        """
        UPDATE customer_service_request r
           SET compensated_by_id = COALESCE(e.create_uid, c.create_uid),
               compensation_date = COALESCE(e.create_date, c.create_date),
               compensation_coupon_value = COALESCE(
                   (SELECT max(rw.discount)
                      FROM loyalty_reward rw
                     WHERE rw.program_id = c.program_id
                       AND rw.discount_mode = 'per_order'), 0)
          FROM customer_service_request r2
          LEFT JOIN customer_point_entry e ON e.id = r2.point_entry_id
          LEFT JOIN customer_coupon c ON c.id = r2.coupon_id
         WHERE r2.id = r.id
           AND r.compensation_date IS NULL
           AND (r2.point_entry_id IS NOT NULL OR r2.coupon_id IS NOT NULL)
        """
    )
