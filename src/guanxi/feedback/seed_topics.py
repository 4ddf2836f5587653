"""The starting topics and a small labelled seed set in Chinese and English (written for this project).

The seed set trains the starting topic model; `held_out_examples` is a separate, hand-written set used
only for evaluation (docs/benchmarks.md, benchmarks/feedback_eval.py), never for training.
"""

from __future__ import annotations

TOPICS: list[tuple[str, str, str]] = [
    ("delivery", "Delivery", "物流配送"),
    ("quality", "Product quality", "产品质量"),
    ("price", "Price", "价格"),
    ("service", "Service attitude", "服务态度"),
    ("billing", "Billing", "账单发票"),
    ("app", "App / website", "App与网站"),
    ("other", "Other", "其他"),
]

SEED: dict[str, list[str]] = {
    "delivery": [
        "快递太慢了，等了一个星期才到", "物流一直不更新，包裹不知道在哪里", "送货上门很及时，快递员很客气",
        "发货速度太慢", "包裹被压坏了，外包装破损", "配送地址填错了想修改", "快递员没有打电话就放在门口",
        "到货时间比承诺的晚了三天", "运费太贵，希望包邮", "物流信息显示已签收但我没收到",
        "The delivery took two weeks, far too slow", "My parcel arrived damaged", "Courier left the box outside without calling",
        "Tracking has not updated for days", "Shipping was fast, arrived next day", "Package was lost in transit",
        "Please let me change the delivery address", "The order arrived later than promised",
    ],
    "quality": [
        "产品质量很差，用了两天就坏了", "做工粗糙，有明显瑕疵", "质量非常好，很耐用", "衣服洗一次就掉色了",
        "电池续航太短", "屏幕有坏点", "材质和描述不符", "零件松动，有异响", "用了一个月就出现故障",
        "产品质量稳定，值得信赖",
        "The product broke after two days", "Poor build quality, scratches everywhere", "Excellent quality, very durable",
        "The battery drains too fast", "The colour faded after one wash", "Material is not as described",
        "It stopped working after a month", "Defective unit, screen has dead pixels",
    ],
    "price": [
        "价格太贵了，比别家高很多", "性价比很高", "希望能有更多优惠活动", "刚买就降价了，能不能补差价",
        "价格合理，物有所值", "会员价格没有优惠", "报价比同行高", "涨价太频繁了",
        "Too expensive compared with other shops", "Great value for money", "The price dropped right after I bought it",
        "Please offer more discounts", "Price is fair for what you get", "Your quote is higher than competitors",
    ],
    "service": [
        "客服态度很差，爱理不理", "客服非常耐心，解决了我的问题", "打了三次电话都没人接", "销售人员很专业很热情",
        "售后推来推去没人负责", "工作人员态度恶劣", "服务周到，非常满意", "回复太慢了，等了两天没人回",
        "The support agent was rude", "Customer service was very helpful and patient", "Nobody answered the phone",
        "Your staff were friendly and professional", "After-sales keeps passing me around", "Waited two days for a reply",
    ],
    "billing": [
        "发票开错了，抬头不对", "重复扣款了两次", "退款一直没有到账", "账单金额和订单不一致", "怎么开增值税专用发票",
        "多收了费用", "付款失败但钱被扣了", "希望支持对公转账",
        "I was charged twice", "The invoice has the wrong company name", "My refund has not arrived",
        "The bill does not match my order", "How do I get a VAT invoice", "Payment failed but money was taken",
    ],
    "app": [
        "App老是闪退", "网站打不开", "登录不了，验证码收不到", "页面加载太慢", "App界面很好用很清晰",
        "小程序下单时报错", "希望App增加夜间模式", "密码重置功能不好用", "网页在手机上显示错乱",
        "The app keeps crashing", "The website is down", "I cannot log in, no verification code",
        "Pages load very slowly", "The new app design is clean and easy", "Please add a dark mode to the app",
        "Checkout page shows an error", "Password reset link does not work",
    ],
    "other": [
        "请问你们周末营业吗", "想了解一下合作方式", "你们公司在哪里", "祝你们生意兴隆", "有没有招聘信息",
        "Do you open on weekends", "I would like to discuss a partnership", "Where is your office",
        "Just saying hello", "Are you hiring",
    ],
}

# Written separately from SEED for evaluation only (topic, sentiment, text).
HELD_OUT: list[tuple[str, str, str]] = [
    ("delivery", "negative", "等了十天快递还没到，太失望了"),
    ("delivery", "negative", "外箱被压扁了，里面东西也坏了"),
    ("delivery", "positive", "第二天就送到了，速度很快"),
    ("delivery", "negative", "The courier never showed up and tracking is stuck"),
    ("delivery", "positive", "Delivered a day early, thank you"),
    ("quality", "negative", "刚用一周开关就失灵了"),
    ("quality", "positive", "质量超出预期，做工精细"),
    ("quality", "negative", "The handle snapped off on first use"),
    ("quality", "positive", "Solid product, works perfectly"),
    ("quality", "negative", "颜色和图片差别很大，材质也很廉价"),
    ("price", "negative", "这个价格实在太高了，不值"),
    ("price", "positive", "这么便宜质量还这么好，划算"),
    ("price", "negative", "Way overpriced for what it is"),
    ("price", "neutral", "Is there a discount for bulk orders"),
    ("service", "negative", "客服说话很不耐烦，问题也没解决"),
    ("service", "positive", "小王服务特别好，很有耐心"),
    ("service", "negative", "The agent hung up on me"),
    ("service", "positive", "Support solved my problem in minutes, great team"),
    ("billing", "negative", "退款申请两周了还没退回来"),
    ("billing", "neutral", "请帮我把发票抬头改成公司名称"),
    ("billing", "negative", "You charged my card twice for one order"),
    ("billing", "neutral", "Can you send the invoice again"),
    ("app", "negative", "更新以后App一打开就崩溃"),
    ("app", "negative", "网站登录一直提示错误"),
    ("app", "negative", "The app freezes on the payment screen"),
    ("app", "positive", "Love the new app, very smooth"),
    ("other", "neutral", "你们有线下门店吗"),
    ("other", "neutral", "Can I visit your factory"),
]

# A few English sentiment sentences so the starting sentiment model is not Chinese-only.
SENTIMENT_EN: dict[str, list[str]] = {
    "positive": [
        "great", "excellent service", "very happy with it", "love it", "thank you so much", "works perfectly",
        "fast and friendly", "highly recommend", "very satisfied", "good quality", "amazing", "helpful and kind",
        "best purchase this year", "smooth and easy", "clean design, easy to use", "arrived early, well packed",
    ],
    "negative": [
        "terrible", "very disappointed", "broken on arrival", "rude staff", "too slow", "waste of money",
        "does not work", "awful experience", "never again", "charged twice", "still no refund", "keeps crashing",
        "poor quality", "nobody answers", "too expensive", "late and damaged",
    ],
}
