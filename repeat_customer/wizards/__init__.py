from . import customer_point_adjust_wizard
from . import customer_point_redeem_wizard
from . import customer_reward_redeem_wizard
from . import base_partner_merge_automatic_wizard
from . import customer_campaign_dry_run
from . import customer_liability_report
from . import customer_analytics_export
from . import customer_segment_migration
