import logging
import random
import time
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from odoo import Command, fields
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Orders are created and confirmed by batches of this many.
ORDER_BATCH_SIZE = 500
# Every planned purchase lies within this many days, inside the default RFM
# window (730 days), so the whole history is scored.
HISTORY_DAYS = 725
# Extra documents that do not count as purchases, per planned purchase.
CANCEL_RATE = 0.02
# the shipped campaigns are replayed over this many past days
CAMPAIGN_REPLAY_DAYS = 90
# the demo's campaign effect: how often a contacted member, and a member of
# the control group, orders within the conversion window on top of their
# usual orders (which both groups place alike); the control groups are small,
# so the effect is large enough for the uplift to show whatever the draw
CONTACTED_CONVERSION = 0.40
CONTROL_CONVERSION = 0.05
SHIPPED_CAMPAIGNS = [
    "customer_campaign_birthday",
    "customer_campaign_welcome",
    "customer_campaign_winback",
    "customer_campaign_points_expiring",
    "customer_campaign_tier_upgrade",
    "customer_campaign_repurchase",
]
QUOTATION_RATE = 0.015
# satisfaction surveys: the share of the last SURVEY_DAYS days' orders asked,
# and the share of those answered; the answers' NPS and CSAT go together
SURVEY_DAYS = 120
SURVEY_RATE = 0.35
SURVEY_ANSWER_RATE = 0.7
SURVEY_ANSWERS = [
    # (weight, nps, csat, comment)
    (30, 10, 5, "茶叶很新鲜，包装精美。Fresh tea, beautifully packed."),
    (20, 9, 5, "送货很快，下次还来。Fast delivery, will order again."),
    (12, 9, 4, ""),
    (10, 8, 4, "点心好吃，份量可以再多一点。Tasty, portions could be bigger."),
    (8, 7, 3, ""),
    (5, 6, 3, "价格有点贵。A bit expensive."),
    (4, 4, 2, "送到时水饺已经化冻了。The dumplings arrived thawed."),
    (3, 2, 1, "等了一个小时，电话也没人接。Waited an hour, nobody answered the phone."),
]

# service requests of the last SERVICE_DAYS days, besides the complaints of
# low survey scores: (type, weight, subject, description)
SERVICE_DAYS = 90
SERVICE_REQUEST_COUNT = 48
SERVICE_REQUESTS = [
    (
        "complaint",
        5,
        "包装破损 Damaged packaging",
        "礼盒到的时候压坏了。The gift box arrived crushed.",
    ),
    (
        "complaint",
        4,
        "送错了货 Wrong item delivered",
        "订的是铁观音，收到的是红茶。Ordered oolong, got black tea.",
    ),
    (
        "complaint",
        3,
        "配送延迟 Late delivery",
        "说好周五到，周一才到。Promised Friday, came Monday.",
    ),
    (
        "question",
        6,
        "怎么开发票？ How do I get a VAT invoice?",
        "公司报销需要增值税发票。",
    ),
    ("question", 4, "积分什么时候到账？ When are my points available?", ""),
    ("return", 4, "换一个口味 Exchange for another flavour", "想把茉莉花茶换成龙井。"),
    ("return", 2, "退货 Return an unopened gift box", "送礼的人已经买了。"),
    ("repair", 2, "茶壶盖子裂了 Teapot lid cracked", "用了一个月，盖子有裂纹。"),
    ("other", 2, "企业团购 Corporate bulk order", "中秋节需要 200 份礼盒。"),
]
SERVICE_RESOLUTIONS = {
    "complaint": "已道歉并补发。Apologised and sent a replacement.",
    "question": "已回复客户。Answered the customer.",
    "return": "已换货。Exchanged.",
    "repair": "已寄出新的壶盖。Sent a new lid.",
    "other": "已转给销售。Passed on to sales.",
}

# (default code, name, list price, type, business weight, private weight,
#  peak months)
DEMO_PRODUCTS = [
    ("RC-LJ", "西湖龙井 Longjing Green Tea 250g", 168.0, "consu", 3, 4, ()),
    ("RC-TGY", "安溪铁观音 Tieguanyin Oolong 250g", 128.0, "consu", 3, 4, ()),
    ("RC-PE", "云南普洱茶饼 Pu'er Tea Cake 357g", 298.0, "consu", 1, 2, ()),
    ("RC-DHP", "武夷大红袍 Da Hong Pao Rock Tea 200g", 238.0, "consu", 1, 2, ()),
    ("RC-BC", "福鼎白茶 Fuding White Tea 200g", 188.0, "consu", 1, 2, ()),
    ("RC-DH", "滇红工夫 Dianhong Black Tea 250g", 98.0, "consu", 2, 3, ()),
    ("RC-JAS", "茉莉花茶 Jasmine Tea 250g", 68.0, "consu", 3, 4, ()),
    ("RC-GW", "青花盖碗 Blue-and-white Gaiwan", 88.0, "consu", 1, 2, ()),
    ("RC-ZS", "宜兴紫砂壶 Yixing Clay Teapot", 580.0, "consu", 0, 1, ()),
    ("RC-GDB", "玻璃公道杯 Glass Tea Pitcher", 58.0, "consu", 1, 2, ()),
    ("RC-CUP", "品茗杯六只 Tasting Cups (6)", 78.0, "consu", 1, 2, ()),
    ("RC-DUMP", "手工水饺 Handmade Dumplings (50 pcs)", 45.0, "consu", 6, 3, ()),
    ("RC-XLB", "鲜肉小笼包 Xiaolongbao (24 pcs)", 38.0, "consu", 5, 3, ()),
    ("RC-HG", "水晶虾饺 Har Gow Shrimp Dumplings (12 pcs)", 48.0, "consu", 3, 2, ()),
    ("RC-CSB", "蜜汁叉烧包 Char Siu Bao (6 pcs)", 32.0, "consu", 3, 2, ()),
    ("RC-SM", "蟹籽烧卖 Siu Mai (12 pcs)", 36.0, "consu", 3, 2, ()),
    ("RC-FLS", "台式凤梨酥 Pineapple Cakes (10 pcs)", 88.0, "consu", 2, 2, ()),
    ("RC-DHS", "蛋黄酥 Salted Egg Yolk Pastries (6 pcs)", 58.0, "consu", 2, 2, ()),
    ("RC-LDG", "绿豆糕 Mung Bean Cakes (12 pcs)", 42.0, "consu", 2, 2, (6, 7)),
    ("RC-MOON", "广式月饼礼盒 Mooncake Gift Box", 268.0, "consu", 1, 1, (8, 9)),
    ("RC-ZONG", "嘉兴粽子礼盒 Zongzi Gift Box", 158.0, "consu", 1, 1, (5, 6)),
    ("RC-NGB", "年货礼篮 New Year Gift Basket", 488.0, "consu", 1, 1, (1, 2)),
    ("RC-COF", "云南小粒咖啡豆 Yunnan Coffee Beans 1kg", 158.0, "consu", 3, 3, ()),
    ("RC-DRIP", "挂耳咖啡 Drip Coffee Bags (10)", 59.0, "consu", 2, 3, ()),
    ("RC-V60", "手冲滤杯套装 Pour-over Coffee Set", 168.0, "consu", 0, 1, ()),
    (
        "RC-COLD",
        "冷萃咖啡 Cold Brew Coffee (6 bottles)",
        108.0,
        "consu",
        1,
        2,
        (6, 7, 8),
    ),
    ("RC-NYF", "年夜饭套餐 New Year Dinner Set", 1288.0, "service", 0, 1, (1, 2)),
    ("RC-ROOM", "包间预订 Private Dining Room Booking", 300.0, "service", 1, 1, ()),
    ("RC-DIM", "早茶套餐 Dim Sum Brunch for Two", 128.0, "service", 0, 2, ()),
    ("RC-TEA", "茶艺体验课 Tea Ceremony Class", 199.0, "service", 0, 1, ()),
    ("RC-LATTE", "咖啡拉花课 Latte Art Class", 229.0, "service", 0, 1, ()),
]
# the demo products' categories
DEMO_CATEGORIES = {
    "茶叶 Tea": ("RC-LJ", "RC-TGY", "RC-PE", "RC-DHP", "RC-BC", "RC-DH", "RC-JAS"),
    "茶具 Teaware": ("RC-GW", "RC-ZS", "RC-GDB", "RC-CUP"),
    "点心 Dim Sum": ("RC-DUMP", "RC-XLB", "RC-HG", "RC-CSB", "RC-SM"),
    "中式糕点 Pastries": ("RC-FLS", "RC-DHS", "RC-LDG"),
    "节庆礼盒 Festive Gift Boxes": ("RC-MOON", "RC-ZONG", "RC-NGB"),
    "咖啡 Coffee": ("RC-COF", "RC-DRIP", "RC-V60", "RC-COLD"),
    "餐饮与课程 Dining and Classes": (
        "RC-NYF",
        "RC-ROOM",
        "RC-DIM",
        "RC-TEA",
        "RC-LATTE",
    ),
}
# what private customers like: the products of their taste sell twelve times
# as often to them (a customer's taste follows from their id), so that the
# demo's co-purchases mean something
DEMO_TASTES = [
    ("RC-LJ", "RC-TGY", "RC-PE", "RC-DHP", "RC-BC", "RC-GW", "RC-ZS", "RC-TEA"),
    ("RC-JAS", "RC-DH", "RC-CUP", "RC-GDB", "RC-LDG", "RC-FLS"),
    ("RC-DUMP", "RC-XLB", "RC-HG", "RC-CSB", "RC-SM", "RC-ROOM", "RC-DIM"),
    ("RC-FLS", "RC-DHS", "RC-LDG", "RC-MOON", "RC-NGB", "RC-ZONG"),
    ("RC-COF", "RC-DRIP", "RC-V60", "RC-COLD", "RC-LATTE"),
    (),
]
TASTE_WEIGHT = 12
# when the demo's orders are placed (the company's time zone): a shop open
# from 8 to 22 h, busiest at lunch and in the evening
DEMO_HOURS = list(range(8, 22))
DEMO_HOUR_WEIGHTS = [2, 4, 6, 8, 10, 9, 5, 4, 4, 6, 9, 10, 7, 3]
# the demo's preference attributes: (name, several values, set in the portal,
# values)
DEMO_PREFERENCES = [
    ("茶的浓淡 Tea Strength", False, True, ("清淡 Light", "适中 Medium", "浓 Strong")),
    (
        "饮食需求 Dietary Needs",
        True,
        True,
        ("素食 Vegetarian", "不吃猪肉 No Pork", "少糖 Low Sugar", "无坚果 No Nuts"),
    ),
    ("包间偏好 Seating", False, False, ("靠窗 By the Window", "安静 Quiet Corner")),
]

# Demo salespeople: (xml id, name, login, email)
DEMO_SALESPEOPLE = [
    ("demo_user_salesperson_li", "李娜", "li.na", "li.na@example.com"),
    ("demo_user_salesperson_chen", "陈伟", "chen.wei", "chen.wei@example.com"),
]


# the accounts of the points liability in the demo company
DEMO_LIABILITY_ACCOUNTS = [
    (
        "loyalty_liability_account_id",
        "219100",
        "Loyalty points contract liability",
        "liability_current",
    ),
    (
        "loyalty_deferral_account_id",
        "400900",
        "Sales revenue deferred to loyalty points",
        "income",
    ),
    ("loyalty_revenue_account_id", "400910", "Loyalty points revenue", "income"),
    (
        "loyalty_breakage_account_id",
        "400920",
        "Loyalty points breakage",
        "income_other",
    ),
    ("loyalty_expense_account_id", "610900", "Loyalty marketing points", "expense"),
    (
        "loyalty_opening_account_id",
        "301900",
        "Retained earnings: loyalty points",
        "equity",
    ),
]


def _table(text, width=2):
    """Split a whitespace-separated table into tuples of ``width`` words."""
    words = text.split()
    return [tuple(words[i : i + width]) for i in range(0, len(words), width)]


SURNAMES = _table(
    """
    王 wang   李 li     张 zhang  刘 liu    陈 chen   杨 yang   黄 huang  赵 zhao
    吴 wu     周 zhou   徐 xu     孙 sun    马 ma     朱 zhu    胡 hu     郭 guo
    何 he     林 lin    高 gao    罗 luo    郑 zheng  梁 liang  谢 xie    宋 song
    唐 tang   韩 han    冯 feng   邓 deng   曹 cao    彭 peng
    """
)
GIVEN_NAMES = _table(
    """
    芳 fang   伟 wei    娜 na     敏 min    静 jing   丽 li     强 qiang  磊 lei
    军 jun    洋 yang   勇 yong   艳 yan    杰 jie    娟 juan   涛 tao    明 ming
    超 chao   霞 xia    平 ping   刚 gang   秀英 xiuying  桂英 guiying  建华 jianhua
    晓东 xiaodong  海燕 haiyan  志强 zhiqiang  婷婷 tingting  文博 wenbo  子涵 zihan
    雨桐 yutong  浩然 haoran  欣怡 xinyi  佳怡 jiayi  宇轩 yuxuan
    """
)
# the province (a state of base's data) of each city
CITY_STATES = {
    "上海": "base.state_cn_SH",
    "北京": "base.state_cn_BJ",
    "广州": "base.state_cn_GD",
    "深圳": "base.state_cn_GD",
    "杭州": "base.state_cn_ZJ",
    "成都": "base.state_cn_SC",
    "南京": "base.state_cn_JS",
    "苏州": "base.state_cn_JS",
    "武汉": "base.state_cn_HB",
    "西安": "base.state_cn_SN",
}
# city, pinyin, telephone area code
CITIES = _table(
    """
    上海 shanghai 21   北京 beijing 10   广州 guangzhou 20   深圳 shenzhen 755
    杭州 hangzhou 571  成都 chengdu 28   南京 nanjing 25     苏州 suzhou 512
    武汉 wuhan 27      西安 xian 29
    """,
    width=3,
)
BRANDS = _table(
    """
    悦来 yuelai  福满楼 fumanlou  聚贤 juxian  和记 heji  金玉 jinyu  同福 tongfu
    鸿运 hongyun  老街 laojie  茗香 mingxiang  锦华 jinhua  鼎盛 dingsheng
    德顺 deshun  嘉禾 jiahe  百味 baiwei  春风 chunfeng  四季 siji  云上 yunshang
    南山 nanshan
    """
)
COMPANY_KINDS = [
    "餐饮有限公司",
    "茶业有限公司",
    "食品贸易有限公司",
    "酒店管理有限公司",
    "咖啡有限公司",
]
CONTACT_FUNCTIONS = ["采购经理", "店长", "行政主管", "厨师长", "财务"]
MOBILE_PREFIXES = ["135", "136", "138", "139", "150", "158", "186", "188", "199"]

# Customer profiles, in percent of the customers. Each RFM recency band holds
# 20 % of them and the order counts are spread so that the 20/40/60/80 %
# quantiles fall between the bands: frequency 1 scores F1, 2 F2, 3 F3, 4-7 F4
# and 10+ F5, and the recency bands score R5 (0-14 days) down to R1 (370+).
# (segment aimed at, percent, last purchase days ago, order count,
#  days between orders)
CUSTOMER_PROFILES = [
    ("new", 6, (0, 14), (1, 1), None),
    ("potential_loyalist", 4, (0, 14), (2, 2), (10, 60)),
    ("potential_loyalist", 3, (0, 14), (3, 3), (10, 45)),
    ("champions", 2, (0, 14), (4, 7), (14, 40)),
    ("champions", 5, (0, 14), (10, 25), (7, 28)),
    ("promising", 6, (22, 55), (1, 1), None),
    ("potential_loyalist", 4, (22, 55), (2, 2), (14, 90)),
    ("potential_loyalist", 3, (22, 55), (3, 3), (14, 60)),
    ("loyal", 3, (22, 55), (4, 7), (14, 45)),
    ("loyal", 4, (22, 55), (10, 22), (10, 28)),
    ("about_to_sleep", 5, (65, 140), (1, 1), None),
    ("about_to_sleep", 5, (65, 140), (2, 2), (20, 120)),
    ("need_attention", 4, (65, 140), (3, 3), (20, 90)),
    ("loyal", 3, (65, 140), (4, 7), (14, 45)),
    ("loyal", 3, (65, 140), (10, 20), (10, 28)),
    ("hibernating", 6, (165, 320), (1, 1), None),
    ("hibernating", 5, (165, 320), (2, 2), (20, 150)),
    ("at_risk", 4, (165, 320), (3, 3), (15, 60)),
    ("at_risk", 2, (165, 320), (4, 7), (14, 40)),
    ("cannot_lose", 3, (165, 320), (10, 20), (7, 21)),
    ("lost", 5, (370, 690), (1, 1), None),
    ("lost", 4, (370, 650), (2, 2), (20, 70)),
    ("at_risk", 4, (370, 600), (3, 3), (15, 50)),
    ("at_risk", 2, (370, 560), (4, 7), (10, 30)),
    ("cannot_lose", 5, (370, 500), (10, 18), (7, 14)),
]


class DemoGenerator:
    """The demo data of the addon: imported only when the demo data loads
    (``customer.membership._demo_generate``), never with the registry of a
    production database."""

    def __init__(self, env):
        self.env = env

    def _generate_demo_data(self, customer_count=520, seed=2024):
        """Create demo products, salespeople, customers and two years of orders.

        Deterministic for a given ``seed``; the dates are relative to today so
        that every RFM segment and churn risk level shows whenever the demo
        data is installed. Does nothing if the demo data already exists.
        """
        if self.env.ref(
            f"repeat_customer.{DEMO_SALESPEOPLE[0][0]}", raise_if_not_found=False
        ):
            return False
        start = time.monotonic()
        rng = random.Random(seed)
        company = self.env.company
        env = (
            self.env["res.company"]
            .with_company(company)
            .with_context(
                tracking_disable=True,
                mail_create_nolog=True,
                mail_create_nosubscribe=True,
                mail_notrack=True,
                no_reset_password=True,
            )
            .env
        )
        generator = DemoGenerator(env)

        def step(what):
            _logger.info(
                "repeat_customer demo: %s (%.0f s)", what, time.monotonic() - start
            )

        products = generator._demo_create_products()
        salespeople = generator._demo_create_salespeople(company)
        customers = generator._demo_create_customers(rng, customer_count, salespeople)
        partners = env["res.partner"].browse([c["partner"] for c in customers])
        generator._demo_set_birthdays(partners, seed)
        step(f"{len(customers)} customers")
        # orders are confirmed today and dated back afterwards: their points
        # are earned once they carry their historical dates
        points_enabled = company.loyalty_points_enabled
        company.loyalty_points_enabled = False
        orders_count = generator._demo_create_orders(rng, customers, products)
        company.loyalty_points_enabled = points_enabled
        step(f"{orders_count} orders over two years")
        memberships_model = env["customer.membership"]
        memberships_model._enrol_partners(company, partners)
        memberships_model._compute_company(company)
        generator._demo_set_join_dates(company, partners)
        generator._demo_preferences(company, random.Random(seed + 1))
        step("memberships, statistics, segments and churn")
        if points_enabled:
            generator._demo_points_history(company, partners)
            step("points history, tiers and rewards")
        generator._demo_campaigns(company, rng, products)
        step("campaigns replayed with their control groups")
        generator._demo_feedback(company, random.Random(seed + 2))
        generator._demo_service(company, salespeople, random.Random(seed + 3))
        step("surveys and service requests")
        if "account.chart.template" in env and company.chart_template:
            generator._demo_liability(company)
            step("points liability posted")
        _logger.info(
            "repeat_customer demo: %s customers and %s orders generated in %.1fs",
            len(customers),
            orders_count,
            time.monotonic() - start,
        )
        return True

    # ------------------------------------------------------------------
    # Master data
    # ------------------------------------------------------------------
    def _demo_register_xmlids(self, records_by_name):
        self.env["ir.model.data"]._update_xmlids(
            [
                {
                    "xml_id": f"repeat_customer.{name}",
                    "record": record,
                    "noupdate": True,
                }
                for name, record in records_by_name.items()
            ]
        )

    def _demo_create_products(self):
        """Create the demo products; return them with their selling weights."""
        category_of = {}
        for name, codes in DEMO_CATEGORIES.items():
            category = self.env["product.category"].create({"name": name})
            category_of.update(dict.fromkeys(codes, category.id))
        products = self.env["product.product"].create(
            [
                {
                    "name": name,
                    "default_code": code,
                    "list_price": price,
                    "type": product_type,
                    "sale_ok": True,
                    "purchase_ok": product_type == "consu",
                    "invoice_policy": "order",
                    "categ_id": category_of[code],
                }
                for code, name, price, product_type, *_weights in DEMO_PRODUCTS
            ]
        )
        self._demo_register_xmlids(
            {
                f"demo_product_{spec[0][3:].lower()}": product
                for spec, product in zip(DEMO_PRODUCTS, products, strict=True)
            }
        )
        return [
            {
                "id": product.id,
                "price": spec[2],
                "business": spec[4],
                "private": spec[5],
                "peak": spec[6],
                "code": spec[0],
            }
            for spec, product in zip(DEMO_PRODUCTS, products, strict=True)
        ]

    def _demo_preferences(self, company, rng):
        """The demo's preference attributes, and values for about a third of
        the members (some of them set by the customers in the portal)."""
        attributes = self.env["customer.preference.attribute"].create(
            [
                {
                    "name": name,
                    "company_id": company.id,
                    "multiple": multiple,
                    "portal_editable": portal,
                    "value_ids": [Command.create({"name": v}) for v in values],
                }
                for name, multiple, portal, values in DEMO_PREFERENCES
            ]
        )
        memberships = self.env["customer.membership"].search(
            [("company_id", "=", company.id)], order="id"
        )
        preferences = []
        for membership in memberships:
            for attribute in attributes:
                if rng.random() >= 0.35:
                    continue
                values = attribute.value_ids
                chosen = (
                    rng.sample(values.ids, rng.randint(1, 2))
                    if attribute.multiple
                    else [rng.choice(values.ids)]
                )
                source = (
                    "portal"
                    if attribute.portal_editable and rng.random() < 0.3
                    else "staff"
                )
                preferences += [
                    {
                        "membership_id": membership.id,
                        "attribute_id": attribute.id,
                        "value_id": value_id,
                        "source": source,
                    }
                    for value_id in chosen
                ]
        self.env["customer.preference"].create(preferences)

    def _demo_create_salespeople(self, company):
        groups = self.env.ref("sales_team.group_sale_salesman")
        groups |= self.env.ref("repeat_customer.group_user", raise_if_not_found=False)
        users = self.env["res.users"].create(
            [
                {
                    "name": name,
                    "login": login,
                    "password": login,
                    "email": email,
                    "company_id": company.id,
                    "company_ids": [Command.link(company.id)],
                    "groups_id": [Command.link(group.id) for group in groups],
                }
                for _xmlid, name, login, email in DEMO_SALESPEOPLE
            ]
        )
        self._demo_register_xmlids(
            {
                xmlid: user
                for (xmlid, *_rest), user in zip(DEMO_SALESPEOPLE, users, strict=True)
            }
        )
        return users

    def _demo_person(self, rng, used_emails, domain="example.com"):
        """Return (name, email, mobile) of a random Chinese person."""
        surname, surname_py = rng.choice(SURNAMES)
        given, given_py = rng.choice(GIVEN_NAMES)
        email = f"{surname_py}.{given_py}{rng.randint(1, 999)}@{domain}"
        while email in used_emails:
            email = f"{surname_py}.{given_py}{rng.randint(1, 9999)}@{domain}"
        used_emails.add(email)
        mobile = (
            f"+86 {rng.choice(MOBILE_PREFIXES)} {rng.randint(0, 9999):04d} "
            f"{rng.randint(0, 9999):04d}"
        )
        return surname + given, email, mobile

    def _demo_create_customers(self, rng, customer_count, salespeople):
        """Create the customers, each given a profile from CUSTOMER_PROFILES.

        Return one dict per customer: the partner id, the ids of the partners
        placing its orders, whether it is a business and its profile.
        """
        profiles = self._demo_profile_list(customer_count)
        rng.shuffle(profiles)
        country = self.env.ref("base.cn", raise_if_not_found=False)
        used_emails = set()
        used_companies = set()
        partner_vals = []
        plans = []
        for profile in profiles:
            city, city_py, area = rng.choice(CITIES)
            is_business = rng.random() < 0.15
            state = self.env.ref(CITY_STATES[city], raise_if_not_found=False)
            vals = {
                "city": city,
                "state_id": state.id if state else False,
                "country_id": country.id if country else False,
                "customer_rank": 1,
            }
            if rng.random() < 0.45:
                vals["user_id"] = rng.choice(salespeople).id
            if is_business:
                brand, brand_py = rng.choice(BRANDS)
                kind = rng.choice(COMPANY_KINDS)
                while (city, brand, kind) in used_companies:
                    brand, brand_py = rng.choice(BRANDS)
                    kind = rng.choice(COMPANY_KINDS)
                used_companies.add((city, brand, kind))
                domain = f"{brand_py}-{city_py}.example.com"
                contacts = []
                for _index in range(rng.randint(1, 2)):
                    name, email, mobile = self._demo_person(rng, used_emails, domain)
                    contacts.append(
                        Command.create(
                            {
                                "name": name,
                                "email": email,
                                "phone": mobile,
                                "function": rng.choice(CONTACT_FUNCTIONS),
                                "type": "contact",
                            }
                        )
                    )
                vals.update(
                    name=f"{city}{brand}{kind}",
                    is_company=True,
                    email=f"info@{domain}",
                    phone=(
                        f"+86 {area} {rng.randint(5000, 8999):04d} "
                        f"{rng.randint(0, 9999):04d}"
                    ),
                    child_ids=contacts,
                )
            else:
                name, email, mobile = self._demo_person(rng, used_emails)
                vals.update(name=name, email=email, phone=mobile)
            partner_vals.append(vals)
            plans.append({"business": is_business, "profile": profile})
        partners = self.env["res.partner"].create(partner_vals)
        for plan, partner in zip(plans, partners, strict=True):
            plan["partner"] = partner.id
            plan["buyers"] = [partner.id, *partner.child_ids.ids]
            plan["user"] = partner.user_id.id
        return plans

    def _demo_profile_list(self, customer_count):
        """Spread ``customer_count`` over the profiles (largest remainder)."""
        total = sum(profile[1] for profile in CUSTOMER_PROFILES)
        quotas = [customer_count * p[1] / total for p in CUSTOMER_PROFILES]
        counts = [int(quota) for quota in quotas]
        by_remainder = sorted(
            range(len(quotas)), key=lambda i: (counts[i] - quotas[i], i)
        )
        for index in by_remainder[: customer_count - sum(counts)]:
            counts[index] += 1
        return [
            profile
            for profile, count in zip(CUSTOMER_PROFILES, counts, strict=True)
            for _index in range(count)
        ]

    # ------------------------------------------------------------------
    # Orders
    # ------------------------------------------------------------------
    def _demo_purchase_days(self, rng, profile):
        """Days ago of the purchases of a customer of ``profile``, oldest first."""
        _segment, _percent, last_range, count_range, gap_range = profile
        last = rng.randint(*last_range)
        count = rng.randint(*count_range)
        if count == 1:
            return [last]
        gaps = [rng.randint(*gap_range) for _index in range(count - 1)]
        span, total = HISTORY_DAYS - last, sum(gaps)
        if total > span:
            gaps = [max(1, gap * span // total) for gap in gaps]
        days = [last]
        for gap in gaps:
            days.append(days[-1] + gap)
        return sorted(min(day, HISTORY_DAYS) for day in days)[::-1]

    def _demo_order_lines(self, rng, products, plan, order_date):
        """Order lines of one order of the customer of ``plan``."""
        key = "business" if plan["business"] else "private"
        taste = (
            ()
            if plan["business"]
            else DEMO_TASTES[plan["buyers"][0] % len(DEMO_TASTES)]
        )
        weights = [
            product[key]
            * (8 if order_date.month in product["peak"] else 1)
            * (TASTE_WEIGHT if product["code"] in taste else 1)
            for product in products
        ]
        line_count = min(rng.choice([1, 1, 2, 2, 3, 4]), len(products))
        chosen = []
        while len(chosen) < line_count:
            product = rng.choices(products, weights=weights)[0]
            if product not in chosen:
                chosen.append(product)
        lines = []
        for product in chosen:
            if plan["business"]:
                qty = (
                    rng.randint(5, 60) if product["price"] < 100 else rng.randint(2, 12)
                )
                price = round(product["price"] * rng.choice([0.85, 0.9, 0.95]), 2)
            else:
                qty = rng.choices([1, 2, 3, 5, 10], weights=[50, 25, 12, 8, 5])[0]
                if plan["big_spender"]:
                    qty *= rng.randint(3, 8)
                price = product["price"]
            line_vals = {
                "product_id": product["id"],
                "product_uom_qty": qty,
                "price_unit": price,
            }
            if not plan["analytic_models"]:
                # what the analytic defaults would give, without one search a line
                line_vals["analytic_distribution"] = False
            lines.append(Command.create(line_vals))
        return lines

    def _demo_order_vals(self, rng, products, plan, days_ago, now):
        order_date = now.replace(
            hour=rng.choices(DEMO_HOURS, weights=DEMO_HOUR_WEIGHTS)[0],
            minute=rng.randint(0, 59),
            second=0,
        ) - timedelta(days=days_ago)
        order_date = min(order_date, now - timedelta(minutes=rng.randint(5, 60)))
        buyers = plan["buyers"]
        # the contacts of a business place most of its orders
        partner_id = buyers[0]
        if len(buyers) > 1 and rng.random() < 0.7:
            partner_id = rng.choice(buyers[1:])
        return {
            "partner_id": partner_id,
            "user_id": plan["user"] or self.env.ref("base.user_admin").id,
            "date_order": order_date,
            "validity_date": (order_date + timedelta(days=30)).date(),
            "order_line": self._demo_order_lines(rng, products, plan, order_date),
        }

    def _demo_create_orders(self, rng, customers, products):
        """Create the demo orders with their historical dates, confirm them
        (one write per batch) and cancel some.

        Return the number of orders created.
        """
        now = fields.Datetime.now()
        analytic_models = bool(
            self.env["account.analytic.distribution.model"].search_count([], limit=1)
        )
        confirmed = []  # (vals, kept confirmed)
        quotations = []
        for plan in customers:
            plan["big_spender"] = not plan["business"] and rng.random() < 0.12
            plan["analytic_models"] = analytic_models
            days = self._demo_purchase_days(rng, plan["profile"])
            for days_ago in days:
                confirmed.append(
                    (self._demo_order_vals(rng, products, plan, days_ago, now), True)
                )
            # orders cancelled after confirmation, somewhere in the history
            if rng.random() < CANCEL_RATE * len(days):
                days_ago = rng.randint(days[-1], days[0])
                confirmed.append(
                    (self._demo_order_vals(rng, products, plan, days_ago, now), False)
                )
            # open quotations of recently active customers
            if days[-1] < 60 and rng.random() < QUOTATION_RATE * len(days) * 3:
                days_ago = rng.randint(0, min(days[-1], 20))
                quotations.append(
                    self._demo_order_vals(rng, products, plan, days_ago, now)
                )
        orders_model = self.env["sale.order"]
        to_cancel = orders_model
        for start in range(0, len(confirmed), ORDER_BATCH_SIZE):
            batch = confirmed[start : start + ORDER_BATCH_SIZE]
            orders = orders_model.create([vals for vals, _keep in batch])
            self._demo_subscribe_customers(orders)
            # confirmed set-wise, as the history has them: Odoo's confirmation
            # order by order (loyalty programmes re-evaluated, the customers'
            # figures refreshed, the date stamped now) is what the figures
            # computed afterwards, by the nightly job's code, stand in for
            orders.write({"state": "sale"})
            for order, (_vals, keep) in zip(orders, batch, strict=True):
                if not keep:
                    to_cancel |= order
            # keep the cache small: later batches would otherwise get slower
            self.env.flush_all()
            self.env.invalidate_all()
        if quotations:
            orders_model.create(quotations)
        to_cancel._action_cancel()
        return len(confirmed) + len(quotations)

    def _demo_subscribe_customers(self, orders):
        """Subscribe the customers to their orders, one call per customer.

        Confirmation does it order by order otherwise.
        """
        for partner in orders.partner_id:
            orders.filtered(lambda o, p=partner: o.partner_id == p)._message_subscribe(
                partner.ids
            )

    def _demo_back_date(self, back_dates):
        """Give orders confirmed through Odoo's confirmation (those of the
        replayed campaigns, which use their coupons) their historical dates:
        confirmation stamps the current time."""
        orders_model = self.env["sale.order"]
        for order_id, date_order in back_dates:
            orders_model.browse(order_id).date_order = date_order
        self.env.flush_all()

    def _demo_set_birthdays(self, partners, seed):
        """Give two thirds of the individual customers a birthday and most a
        gender (with their own random generator, so the order history does
        not depend on it)."""
        rng = random.Random(seed + 1)
        for partner in partners.filtered(lambda p: not p.is_company):
            vals = {}
            if rng.random() < 0.67:
                vals["birthdate_date"] = date(
                    rng.randint(1960, 2006), rng.randint(1, 12), rng.randint(1, 28)
                )
            draw = rng.random()
            if draw < 0.9:
                vals["gender"] = "female" if draw < 0.52 else "male"
            if vals:
                partner.write(vals)

    def _demo_points_history(self, company, partners):
        """Earn the points of the demo history at the orders' dates, let the
        daily jobs run (release, expiry), place members in their tier and
        spend points on a few open quotations."""
        orders_model = self.env["sale.order"]
        orders = orders_model.search(
            [
                ("company_id", "=", company.id),
                ("partner_id.commercial_partner_id", "in", partners.ids),
                ("state", "=", "sale"),
            ],
            order="date_order, id",
        )
        self._demo_points_months(company, orders)
        entries = self.env["customer.point.entry"]
        while entries._cron_release_points():
            pass
        while entries._cron_expire_points():
            pass
        memberships = self.env["customer.membership"].search(
            [("partner_id", "in", partners.ids), ("company_id", "=", company.id)]
        )
        self.env["customer.tier"]._apply_tiers(company, memberships.ids, review=True)
        quotations = orders_model.search(
            [
                ("company_id", "=", company.id),
                ("partner_id.commercial_partner_id", "in", partners.ids),
                ("state", "=", "draft"),
            ],
            order="id",
        )
        redeemed = 0
        for quotation in quotations:
            membership = quotation.loyalty_membership_id
            if redeemed >= 5 or not membership or membership.points_balance < 500:
                continue
            wizard = self.env["customer.point.redeem.wizard"].create(
                {"order_id": quotation.id, "points": 0}
            )
            points = min(wizard.points_max, 2000)
            if points > 0:
                wizard.points = points
                wizard.action_redeem()
                redeemed += 1
        self._demo_rewards(company, memberships)

    def _demo_points_months(self, company, orders):
        """Replay the points month by month, so the ledger has a history:
        the month's orders earn, then on the first of the next month the
        points due are released and those past their validity expire, and
        some members spend points during the month (in store, a line with
        its reason)."""
        rng = random.Random(7)
        entries = self.env["customer.point.entry"]
        today = company._loyalty_today()
        by_month = {}
        for order in orders:
            by_month.setdefault(order.date_order.date().replace(day=1), []).append(
                order.id
            )
        for month in sorted(by_month):
            month_orders = orders.browse(by_month[month])
            for start in range(0, len(month_orders), ORDER_BATCH_SIZE):
                month_orders[start : start + ORDER_BATCH_SIZE]._loyalty_earn_points()
            self.env.flush_all()
            self.env.invalidate_all()
            next_month = month + relativedelta(months=1)
            if next_month > today:
                break
            while entries._release_batch(company, next_month, 5000):
                pass
            while entries._expire_batch(company, next_month, 5000):
                pass
            self._demo_spend_points(company, rng, next_month, today)

    def _demo_spend_points(self, company, rng, month, today):
        """A few members with points spend some of them during ``month``."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT id, points_balance FROM customer_membership
                 WHERE company_id = %s AND points_balance >= 1000
                 ORDER BY id
                """,
                company.id,
            )
        )
        lines = []
        last_day = min(month + relativedelta(months=1, days=-1), today)
        for membership_id, balance in self.env.cr.fetchall():
            if rng.random() >= 0.08:
                continue
            points = min(balance, rng.choice([500, 800, 1000, 1500, 2000]))
            day = month + timedelta(days=rng.randint(0, (last_day - month).days))
            lines.append(
                {
                    "membership_id": membership_id,
                    "kind": "redeem",
                    "points": -points,
                    "date": day,
                    "reason": "Points used in store",
                }
            )
        if lines:
            self.env["customer.point.entry"]._post(lines)
        self.env.invalidate_all()

    def _demo_rewards(self, company, memberships):
        """Coupons: the tier welcome gifts owed, rewards redeemed by members
        with points (a few used on confirmed orders), a win-back batch to the
        members at risk, and a portal customer with points and a coupon."""
        tier_changes = self.env["customer.tier.change"]
        while tier_changes._cron_issue_tier_rewards():
            pass
        rewards = self.env["customer.reward"].search(
            [
                ("company_id", "=", company.id),
                ("reward_type", "=", "coupon"),
                ("points_cost", ">", 0),
            ]
        )
        coupons = self.env["customer.coupon"]
        for reward in rewards:
            given = 0
            for membership in memberships.sorted("points_balance", reverse=True):
                if given >= 12:
                    break
                if reward._unavailable_reason(membership) or (
                    membership.points_balance < reward.points_cost
                ):
                    continue
                coupons |= reward._redeem(membership)
                given += 1
        # a third of the redeemed coupons were used on an order; the last one
        # is applied on a quotation not confirmed yet
        used = coupons[::3]
        for coupon in used:
            order = self.env["sale.order"].create(
                {
                    "partner_id": coupon.partner_id.id,
                    "company_id": company.id,
                    "user_id": coupon.membership_id.user_id.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.env["product.product"]
                                .search([("sale_ok", "=", True)], limit=1)
                                .id,
                                "product_uom_qty": 3,
                            }
                        )
                    ],
                }
            )
            if "error" not in order._try_apply_code(coupon.code):
                for reward in coupon.program_id.reward_ids[:1]:
                    order._apply_program_reward(reward, coupon.card_id)
                if coupon != used[-1]:
                    order.action_confirm()
        at_risk = self.env.ref(
            "repeat_customer.segment_at_risk", raise_if_not_found=False
        )
        voucher = rewards[:1].program_id
        if at_risk and voucher:
            batch = self.env["customer.coupon.batch"].create(
                {
                    "name": self.env._("Win-back: members at risk"),
                    "company_id": company.id,
                    "program_id": voucher.id,
                    "target": "segment",
                    "segment_ids": [Command.set(at_risk.ids)],
                    "validity_days": 30,
                }
            )
            batch.sudo()._issue_chunk(batch._chunk_size())
            batch.state = "done"
        portal_partner = self.env.ref(
            "base.partner_demo_portal", raise_if_not_found=False
        )
        if portal_partner and rewards:
            membership = self.env["customer.membership"].search(
                [
                    ("partner_id", "=", portal_partner.id),
                    ("company_id", "=", company.id),
                ]
            ) or self.env["customer.membership"].create(
                {"partner_id": portal_partner.id, "company_id": company.id}
            )
            entries = self.env["customer.point.entry"]
            entries._post_adjustment(membership, 1800, self.env._("Welcome points"))
            rewards[:1]._redeem(membership)

    def _demo_set_join_dates(self, company, partners):
        """Date the demo memberships from the customers' first purchase."""
        memberships = self.env["customer.membership"].search(
            [("partner_id", "in", partners.ids), ("company_id", "=", company.id)]
        )
        by_date = {}
        for membership in memberships:
            if membership.first_order_date:
                by_date.setdefault(membership.first_order_date, []).append(
                    membership.id
                )
        for join_date, ids in by_date.items():
            self.env["customer.membership"].browse(ids).write({"join_date": join_date})

    # ------------------------------------------------------------------
    # Campaigns
    # ------------------------------------------------------------------
    def _demo_company_campaigns(self, company):
        """The shipped campaigns, running, in ``company`` (copied there, with
        their coupon programmes, when they belong to another one)."""
        campaigns = self.env["customer.campaign"]
        for xmlid in SHIPPED_CAMPAIGNS:
            campaign = self.env.ref(f"repeat_customer.{xmlid}")
            if campaign.company_id != company:
                values = {"company_id": company.id, "active": True}
                if campaign.coupon_program_id:
                    values["coupon_program_id"] = campaign.coupon_program_id.copy(
                        {"company_id": company.id, "active": True}
                    ).id
                campaign = campaign.copy(values)
            campaign.write({"active": True, "state": "running"})
            campaigns |= campaign
        return campaigns

    def _demo_segment_entries(self, company, rng):
        """Members now At risk entered the segment on a day of the replayed
        period (the demo history has one RFM computation, today's)."""
        at_risk = self.env.ref("repeat_customer.segment_at_risk")
        loyal = self.env.ref("repeat_customer.segment_loyal")
        members = self.env["customer.membership"].search(
            [("company_id", "=", company.id), ("segment_id", "=", at_risk.id)]
        )
        today = company._loyalty_today()
        self.env["customer.rfm.snapshot"].create(
            [
                {
                    "membership_id": member.id,
                    "company_id": company.id,
                    "snapshot_date": today
                    - timedelta(days=rng.randint(5, CAMPAIGN_REPLAY_DAYS)),
                    "segment_id": at_risk.id,
                    "previous_segment_id": loyal.id,
                    "has_segment_changed": True,
                }
                for member in members
            ]
        )

    def _demo_campaigns(self, company, rng, products):
        """Enable the shipped campaigns and replay them over the last
        ``CAMPAIGN_REPLAY_DAYS`` days: each day's occasions are queued on
        that day and sent (coupons, points, activities; the mails of the
        past are not left in the queue), then the members order a little
        more often after a message than the control group does, and the
        conversions are attributed."""
        campaigns = self._demo_company_campaigns(company)
        self._demo_segment_entries(company, rng)
        quiet = (company.loyalty_quiet_hours_start, company.loyalty_quiet_hours_end)
        company.write({"loyalty_quiet_hours_start": 0, "loyalty_quiet_hours_end": 0})
        today = company._loyalty_today()
        deliveries_model = self.env["customer.campaign.delivery"]
        for days_ago in range(CAMPAIGN_REPLAY_DAYS, -1, -1):
            for campaign in campaigns:
                campaign._queue(today=today - timedelta(days=days_ago))
        deliveries_model._send_queued(company, limit=None, campaigns=campaigns)
        company.write(
            {"loyalty_quiet_hours_start": quiet[0], "loyalty_quiet_hours_end": quiet[1]}
        )
        self.env.flush_all()
        self.env["mail.mail"].sudo().search(
            [("model", "=", deliveries_model._name)]
        ).unlink()
        # each replayed delivery was decided at the end of its day: the orders
        # of that day (the one that made a member join) came before it
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_campaign_delivery
                   SET create_date = delivery_date + time '23:59:59'
                 WHERE campaign_id = ANY(%s)
                """,
                campaigns.ids,
            )
        )
        deliveries_model.invalidate_model(["create_date"])
        measured = deliveries_model.search(
            [
                ("campaign_id", "in", campaigns.ids),
                ("state", "in", ("sent", "control")),
            ],
            order="id",
        )
        now = fields.Datetime.now()
        plans, buyers, back_dates = [], [], []
        for delivery in measured:
            rate = CONTROL_CONVERSION if delivery.is_control else CONTACTED_CONVERSION
            if rng.random() >= rate:
                continue
            # a day of the conversion window that has come already
            last = min(
                delivery.delivery_date
                + timedelta(days=delivery.campaign_id.conversion_days),
                today,
            )
            if last <= delivery.delivery_date:
                continue
            day = delivery.delivery_date + timedelta(
                days=rng.randint(1, (last - delivery.delivery_date).days)
            )
            plan = {
                "buyers": [delivery.partner_id.id],
                "user": delivery.membership_id.user_id.id,
                "business": delivery.partner_id.is_company,
                "big_spender": False,
                "analytic_models": False,
            }
            plans.append(
                self._demo_order_vals(rng, products, plan, (today - day).days, now)
            )
            buyers.append(delivery)
        if plans:
            orders = self.env["sale.order"].create(plans)
            # two thirds of those who got a coupon use it on that order
            for order, delivery in zip(orders, buyers, strict=True):
                coupon = delivery.coupon_id
                if coupon and rng.random() < 0.67:
                    if "error" not in order._try_apply_code(coupon.code):
                        for reward in coupon.program_id.reward_ids[:1]:
                            order._apply_program_reward(reward, coupon.card_id)
            orders.action_confirm()
            back_dates = [
                (order.id, vals["date_order"])
                for order, vals in zip(orders, plans, strict=True)
            ]
            self._demo_back_date(back_dates)
            self.env["customer.membership"]._compute_company(company)
            # the tier gifts those orders earned, as the job would issue them
            changes = self.env["customer.tier.change"]
            while changes._cron_issue_tier_rewards():
                pass
        deliveries_model._update_attribution(company, since=date.min)

    # ------------------------------------------------------------------
    # Accounting
    # ------------------------------------------------------------------
    def _demo_feedback(self, company, rng):
        """Satisfaction surveys about a share of the recent orders, sent with
        the order and valid as the company says: most of them answered a few
        days after the order (the low ones leave a call-back for the
        salesperson), the others unanswered (still open for the last
        weeks' orders)."""
        today = company._loyalty_today()
        orders = self.env["sale.order"].search(
            [
                ("company_id", "=", company.id),
                ("state", "=", "sale"),
                ("date_order", ">=", today - timedelta(days=SURVEY_DAYS)),
            ],
            order="date_order, id",
        )
        memberships = {
            (m.partner_id.id): m
            for m in self.env["customer.membership"].search(
                [("company_id", "=", company.id)]
            )
        }
        asked = [
            (memberships[order.partner_id.commercial_partner_id.id], order)
            for order in orders
            if order.partner_id.commercial_partner_id.id in memberships
            and rng.random() < SURVEY_RATE
        ]
        if not asked:
            return
        surveys = self.env["customer.feedback"]._request(
            self.env["customer.membership"].browse([m.id for m, _o in asked]),
            [order for _m, order in asked],
        )
        weights = [answer[0] for answer in SURVEY_ANSWERS]
        answered = []
        for survey in surveys:
            if rng.random() >= SURVEY_ANSWER_RATE:
                continue
            _weight, nps, csat, comment = rng.choices(SURVEY_ANSWERS, weights)[0]
            survey._answer(nps, csat, comment)
            answered.append(
                (
                    survey.id,
                    survey.order_id.date_order + timedelta(days=rng.randint(1, 6)),
                )
            )
        # the surveys were sent after the order, and answered then
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_feedback f
                   SET answer_date = LEAST(v.answered, now() AT TIME ZONE 'UTC')
                  FROM unnest(%(ids)s::int[], %(dates)s::timestamp[])
                       AS v(id, answered)
                 WHERE f.id = v.id;
                UPDATE customer_feedback f
                   SET expiry_date = so.date_order::date + %(validity)s
                  FROM sale_order so
                 WHERE so.id = f.order_id AND f.id = ANY(%(all)s::int[]);
                """,
                ids=[survey_id for survey_id, _date in answered],
                dates=[answered_at for _id, answered_at in answered],
                validity=company.loyalty_survey_validity_days,
                all=surveys.ids,
            )
        )
        self.env["customer.feedback"].invalidate_model()

    def _demo_service(self, company, salespeople, rng):
        """An after-sales team with assignment rules, the complaints the low
        survey scores opened and more requests of the last SERVICE_DAYS days:
        the older ones answered and closed (some late), the recent ones open,
        some of them past their deadline and escalated."""
        admin = self.env.ref("base.user_admin")
        if not company.loyalty_service_user_id:
            company.loyalty_service_user_id = admin
        team = self.env["customer.service.team"].create(
            {
                "name": "售后服务 After-Sales Service",
                "company_id": company.id,
                "leader_id": admin.id,
                "member_ids": [Command.set(salespeople.ids)],
            }
        )
        self._demo_register_xmlids({"demo_service_team": team})

        def service_type(code):
            return self.env.ref(f"repeat_customer.customer_service_type_{code}")

        self.env["customer.service.rule"].create(
            [
                {
                    "name": "投诉与退换 Complaints, returns and repairs",
                    "company_id": company.id,
                    "sequence": 1,
                    "type_ids": [
                        Command.set(
                            [
                                service_type(c).id
                                for c in ("complaint", "return", "repair")
                            ]
                        )
                    ],
                    "team_id": team.id,
                },
                {
                    "name": "咨询 Questions to the customer's salesperson",
                    "company_id": company.id,
                    "sequence": 2,
                    "type_ids": [Command.set(service_type("question").ids)],
                    "assign_to": "salesperson",
                },
            ]
        )
        Request = self.env["customer.service.request"]
        from_surveys = Request.search(
            [("company_id", "=", company.id), ("feedback_id", "!=", False)]
        )
        from_surveys.action_assign()
        now = fields.Datetime.now()
        received = {
            request: self._demo_received(
                rng,
                request.feedback_id.order_id.date_order,
                now,
                request.feedback_id.answer_date,
            )
            for request in from_surveys
        }
        today = company._loyalty_today()
        orders = self.env["sale.order"].search(
            [
                ("company_id", "=", company.id),
                ("state", "=", "sale"),
                ("date_order", ">=", today - timedelta(days=SERVICE_DAYS)),
            ]
        )
        weights = [item[1] for item in SERVICE_REQUESTS]
        vals_list, dates = [], []
        for order in rng.sample(list(orders), min(SERVICE_REQUEST_COUNT, len(orders))):
            code, _weight, subject, description = rng.choices(
                SERVICE_REQUESTS, weights
            )[0]
            line = order.order_line.filtered("product_id")[:1]
            vals_list.append(
                {
                    "name": subject,
                    "description": description or False,
                    "company_id": company.id,
                    "partner_id": order.partner_id.id,
                    "type_id": service_type(code).id,
                    "order_id": order.id,
                    "product_id": line.product_id.id,
                    "channel": rng.choice(("portal", "staff", "staff")),
                    "priority": rng.choice(("0", "0", "0", "1", "2")),
                }
            )
            dates.append(self._demo_received(rng, order.date_order, now))
        portal = self.env.ref("base.partner_demo_portal", raise_if_not_found=False)
        portal_order = orders.filtered(lambda o: o.partner_id == portal)[:1]
        if portal:
            vals_list.append(
                {
                    "name": "茶叶罐密封不好 The tea tin does not seal",
                    "description": "盖子盖不紧，茶叶受潮了。The lid is loose.",
                    "company_id": company.id,
                    "partner_id": portal.id,
                    "type_id": service_type("complaint").id,
                    "order_id": portal_order.id,
                    "channel": "portal",
                }
            )
            dates.append(now - timedelta(hours=3))
        created = Request.create(vals_list)
        received.update(zip(created, dates, strict=True))
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_service_request r
                   SET create_date = v.received
                  FROM unnest(%(ids)s::int[], %(dates)s::timestamp[]) AS v(id, received)
                 WHERE r.id = v.id
                """,
                ids=[r.id for r in received],
                dates=list(received.values()),
            )
        )
        requests = Request.browse([r.id for r in received])
        requests.invalidate_recordset(["create_date"])
        requests._set_deadlines()
        solved = self.env.ref("repeat_customer.customer_service_stage_solved")
        progress = self.env.ref("repeat_customer.customer_service_stage_progress")
        resolutions = {
            service_type(code): text for code, text in SERVICE_RESOLUTIONS.items()
        }
        for request in requests.sorted("id"):
            self._demo_handle_request(
                request, rng, now, (solved, progress), resolutions[request.type_id]
            )
        Request._cron_escalate()

    @staticmethod
    def _demo_received(rng, ordered, now, answered=None):
        """When a request about an order of ``ordered`` came in: when the
        survey was answered, else a few days after the order; before now in
        any case."""
        ordered = ordered or now - timedelta(days=3)
        when = answered or ordered + timedelta(days=rng.uniform(0.2, 10))
        if when >= now - timedelta(hours=1):
            when = ordered + (now - ordered) * rng.uniform(0.2, 0.9)
        return when.replace(microsecond=0)

    def _demo_handle_request(self, request, rng, now, stages, resolution):
        """Answer and close the request as an agent would have, by its age."""
        solved, progress = stages
        calendar, tz = request._calendar_tz()
        age_days = (now - request.create_date).days
        close_share = (
            0.97
            if age_days > 20
            else 0.85
            if age_days > 6
            else 0.5
            if age_days > 2
            else 0.1
        )
        service_type = request.type_id
        answered = request._plan_working_hours(
            calendar,
            tz,
            request.create_date,
            (service_type.response_hours or 8) * rng.uniform(0.2, 1.3),
        )
        if answered < now:
            request._mark_answered(answered)
            request.stage_id = progress
        if rng.random() >= close_share or answered >= now:
            return
        closed = request._plan_working_hours(
            calendar,
            tz,
            request.create_date,
            (service_type.resolution_hours or 40) * rng.uniform(0.3, 1.4),
        )
        if closed >= now:
            return
        request.write({"stage_id": solved.id, "resolution": resolution})
        late = bool(
            request.overdue_count
            or (request.resolution_deadline and request.resolution_deadline < closed)
        )
        request.sudo().write(
            {
                "close_date": max(closed, answered),
                "resolution_hours": request._working_hours_between(
                    calendar, tz, request.create_date, max(closed, answered)
                ),
                "overdue_count": 1 if late else 0,
            }
        )
        # recent complaints solved with a goodwill gesture
        if request.is_complaint and request.membership_id and age_days < 15:
            request._compensate(points=rng.choice((50, 100, 200)))

    def _demo_liability(self, company):
        """Post the points liability: accounts of the points, a redemption
        rate revised once, posting from the first day of the month five
        months ago (the points outstanding before come in by an opening
        entry), and the daily entries up to yesterday."""
        accounts_model = self.env["account.account"].with_company(company)
        accounts = {}
        for field, code, name, account_type in DEMO_LIABILITY_ACCOUNTS:
            accounts[field] = accounts_model.create(
                {
                    "code": code,
                    "name": name,
                    "account_type": account_type,
                    "company_ids": [Command.set(company.ids)],
                }
            ).id
        journal = self.env["account.journal"].search(
            [("type", "=", "general"), ("company_id", "=", company.id)],
            order="id",
            limit=1,
        )
        today = company._loyalty_today()
        start = (today - relativedelta(months=5)).replace(day=1)
        rates = self.env["customer.redemption.rate"]
        rates.create(
            {
                "company_id": company.id,
                "date_from": today - relativedelta(years=2),
                "rate": 0.6,
                "note": "Industry benchmark at launch",
            }
        )
        rates.create(
            {
                "company_id": company.id,
                "date_from": start + relativedelta(months=2),
                "rate": 0.7,
                "note": "Revised on the first year's redemptions",
            }
        )
        company.write(
            {
                **accounts,
                "loyalty_liability_method": "deferred",
                "loyalty_liability_journal_id": journal.id,
                "loyalty_liability_start_date": start,
                "loyalty_liability_enabled": True,
            }
        )
        moves = self.env["customer.liability.move"]
        while moves._cron_post_liability():
            pass
