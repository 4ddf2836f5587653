# ruff: noqa: E501  (the articles are prose, one line each)
"""Demo knowledge base: five categories and twenty bilingual articles customers and agents ask about most
(sign-in, passwords, invoices, delivery, returns, devices), most public, a few internal for agents."""

from __future__ import annotations

from guanxi.core.demo import DemoOutput, DemoSizes, demo_loader
from guanxi.core.models import User

from . import kb
from .models import KbArticle, KbCategory

CATEGORIES = [
    ("account", "账户与登录", "Account and sign-in"),
    ("orders", "订单与配送", "Orders and delivery"),
    ("billing", "发票与付款", "Invoices and payment"),
    ("returns", "退货与退款", "Returns and refunds"),
    ("technical", "设备与技术支持", "Devices and technical support"),
]

PUB, INT = KbArticle.Audience.PUBLIC, KbArticle.Audience.INTERNAL
# (category, audience, Chinese title, Chinese text, English title, English text)
ARTICLES = [
    ("account", PUB, "忘记密码怎么办？如何重置密码",
     "1. 在登录页点击“忘记密码”。\n2. 输入注册时使用的邮箱或手机号。\n3. 打开我们发送的重置邮件（10 分钟内有效），设置新密码。\n\n"
     "新密码至少 10 位，需包含字母和数字。收不到邮件？请先查看垃圾邮件箱。",
     "Forgot your password? How to reset it",
     "1. On the sign-in page, click “Forgot password”.\n2. Enter the email or mobile number you registered with.\n"
     "3. Open the reset email we send (valid for 10 minutes) and choose a new password.\n\n"
     "A new password needs at least 10 characters with letters and digits. No email? Check your spam folder first."),
    ("account", PUB, "收不到密码重置邮件",
     "请确认邮箱地址拼写正确，并检查垃圾邮件和广告邮件文件夹。企业邮箱可能拦截外部邮件，请让管理员把 noreply@guanxi.example 加入白名单。"
     "\n\n15 分钟后仍未收到，请联系客服，我们会人工核实身份后帮您重置。",
     "The password reset email does not arrive",
     "Check the spelling of your email address and look in the spam and promotions folders. Company mail servers may "
     "block outside mail: ask your administrator to allow noreply@guanxi.example.\n\nStill nothing after 15 minutes? "
     "Contact support and we will verify your identity and reset it for you."),
    ("account", PUB, "无法登录：账号被锁定",
     "连续 5 次输错密码后，账号会锁定 30 分钟。请等待锁定结束后重试，或通过“忘记密码”重置密码立即解锁。",
     "Cannot sign in: the account is locked",
     "After 5 wrong passwords in a row the account is locked for 30 minutes. Wait and try again, or reset the "
     "password with “Forgot password” to unlock it at once."),
    ("account", PUB, "如何修改手机号和邮箱",
     "登录后进入“我的账户 → 个人资料”，点击手机号或邮箱旁的“修改”。我们会向新号码或新邮箱发送验证码，验证后生效。",
     "How to change your mobile number and email",
     "Sign in and open “My account → Profile”, then click “Change” next to the number or address. We send a code to "
     "the new number or address; the change applies once you confirm it."),
    ("account", PUB, "开启两步验证", "在“我的账户 → 安全”中开启两步验证，用手机验证器应用扫描二维码。之后每次登录都需要输入 6 位动态码。",
     "Turn on two-step verification",
     "In “My account → Security”, turn on two-step verification and scan the QR code with an authenticator app. "
     "Each sign-in then asks for a 6-digit code."),
    ("orders", PUB, "如何查询订单物流",
     "在“我的订单”中找到订单，点击“查看物流”即可看到快递公司和运单号。发货后 24 小时内物流信息会更新。",
     "How to track your delivery",
     "Find the order under “My orders” and click “Track delivery” to see the carrier and tracking number. Tracking "
     "updates within 24 hours of dispatch."),
    ("orders", PUB, "订单一直显示“处理中”",
     "工作日下单通常 1 个工作日内发货；节假日顺延。超过 2 个工作日仍显示处理中，可能是库存核对或地址待确认，请联系客服并提供订单号。",
     "The order stays “processing”",
     "Orders placed on a workday usually ship within one working day; holidays add to that. If it still says "
     "processing after two working days, stock or the address may need checking: contact support with the order number."),
    ("orders", PUB, "发货前修改收货地址",
     "订单发货前，可在订单详情页点击“修改地址”。已发货的订单无法修改地址，请联系快递公司改派或拒收后重新下单。",
     "Change the delivery address before dispatch",
     "Until the order ships, click “Change address” on the order page. Once shipped, the address cannot be changed: "
     "ask the carrier to redirect it, or refuse it and order again."),
    ("orders", PUB, "配送范围与运费", "我们配送至中国大陆全境，港澳台及海外地区暂不支持。订单满 199 元免运费，偏远地区可能延迟 1–3 天。",
     "Delivery area and shipping costs",
     "We deliver across mainland China; Hong Kong, Macao, Taiwan and overseas are not yet served. Orders over ¥199 ship "
     "free; remote areas may take 1–3 days longer."),
    ("billing", PUB, "如何开具和下载电子发票",
     "订单完成后，进入“我的订单 → 发票”，填写抬头和税号，提交后 1 个工作日内可下载 PDF 电子发票。增值税专用发票请上传营业执照信息。",
     "How to request and download an e-invoice",
     "Once the order is complete, open “My orders → Invoice”, enter the company name and tax number, and submit. The PDF "
     "e-invoice is ready to download within one working day. For a special VAT invoice, add your business licence details."),
    ("billing", PUB, "发票信息填错了怎么办",
     "发票开具后如抬头或税号有误，可在 30 天内申请红冲重开：在发票页面点击“申请重开”，填写正确信息即可。",
     "The invoice details are wrong",
     "If the name or tax number on an issued invoice is wrong, you can have it reversed and reissued within 30 days: "
     "click “Reissue” on the invoice page and enter the correct details."),
    ("billing", PUB, "支持哪些付款方式", "支持微信支付、支付宝、银联卡和对公转账。对公转账请在备注中填写订单号，到账后 1 个工作日内确认。",
     "Which payment methods are accepted",
     "WeChat Pay, Alipay, UnionPay cards and bank transfer. For a bank transfer, put the order number in the remark; we "
     "confirm it within one working day of receipt."),
    ("returns", PUB, "七天无理由退货流程",
     "签收后 7 天内，商品未使用且包装完好，可申请无理由退货：在“我的订单”中点击“申请退货”，选择原因并按提示寄回。",
     "Seven-day no-questions returns",
     "Within 7 days of delivery, an unused item in its original packaging can be returned for any reason: click "
     "“Return” under “My orders”, pick a reason and send it back as shown."),
    ("returns", PUB, "退款多久到账",
     "仓库收到退货并检验后 1 个工作日内发起退款。微信和支付宝通常即时到账，银行卡 3–5 个工作日。",
     "How long a refund takes",
     "We start the refund within one working day of receiving and checking the return. WeChat Pay and Alipay refunds "
     "arrive at once, bank cards in 3–5 working days."),
    ("returns", PUB, "收到的商品损坏或错发", "请在签收 48 小时内拍照（外包装、商品、面单）并提交工单，我们免费补发或退款，无需您承担运费。",
     "The item arrived damaged or wrong",
     "Within 48 hours of delivery, take photos (box, item and label) and open a ticket; we replace it or refund you "
     "free of charge, shipping included."),
    ("technical", PUB, "设备无法连接 Wi-Fi",
     "1. 确认路由器为 2.4GHz 网络（设备不支持 5GHz）。\n2. 长按设备复位键 5 秒，指示灯快闪后重新配网。\n3. 仍失败请记录指示灯状态并联系客服。",
     "The device cannot connect to Wi-Fi",
     "1. Make sure the router offers a 2.4 GHz network (the device does not support 5 GHz).\n2. Hold the reset button "
     "for 5 seconds until the light blinks fast, then set up the network again.\n3. Still failing? Note the light "
     "pattern and contact support."),
    ("technical", PUB, "页面报错 500 或打不开",
     "请先刷新页面或清除浏览器缓存后重试。若仍报错，请截图并记录时间，提交工单时附上，我们会尽快排查。",
     "Error 500 or the page does not open",
     "Reload the page or clear the browser cache and try again. If the error stays, take a screenshot, note the time "
     "and attach both to a ticket so we can look into it."),
    ("technical", INT, "【内部】升级到二线支持的标准",
     "以下情况请转二线队列：设备固件问题、数据丢失、同一客户 7 天内第三次来电、VIP 客户的紧急工单。转交前请写内部备注说明已做排查。",
     "[Internal] When to escalate to tier 2",
     "Move the ticket to the tier 2 queue for firmware faults, lost data, a customer's third call within 7 days, or an "
     "urgent ticket from a VIP customer. Write an internal note of what you checked before handing it over."),
    ("billing", INT, "【内部】退款审批权限",
     "500 元以下退款一线客服可直接批准；500–5000 元需主管批准；5000 元以上需财务复核。请在工单中记录审批人。",
     "[Internal] Who approves refunds",
     "Agents approve refunds under ¥500; ¥500–5,000 needs a supervisor; over ¥5,000 finance reviews it. Record the "
     "approver on the ticket."),
    ("account", INT, "【内部】人工核实客户身份",
     "重置密码或修改手机号前，需核实以下任意两项：注册手机号后四位、最近一笔订单号、收货地址所在城市。不得通过电话告知验证码。",
     "[Internal] Verifying a caller's identity",
     "Before resetting a password or changing a mobile number, check two of: the last four digits of the registered "
     "number, the latest order number, the city of the delivery address. Never read a verification code out on the phone."),
]  # fmt: skip


@demo_loader(order=42)
def kb_demo(*, seed: int, sizes: DemoSizes, stdout: DemoOutput) -> dict[str, int]:
    """Categories and articles, once (a re-run adds nothing); a few helpful votes so the counts are not all zero."""
    if KbArticle.objects.exists():
        return {}
    author = User.objects.filter(groups__name="service", is_active=True).order_by("id").first()
    categories = {
        key: kb.kb_category_save(actor=author, name_zh=zh, name_en=en, order=(index + 1) * 10)
        for index, (key, zh, en) in enumerate(CATEGORIES)
    }
    if KbCategory.objects.count() != len(categories):
        return {}
    for index, (key, audience, title_zh, body_zh, title_en, body_en) in enumerate(ARTICLES):
        article = kb.kb_article_save(
            actor=author,
            category=categories[key],
            status=KbArticle.Status.PUBLISHED,
            audience=audience,
            title_zh=title_zh,
            body_zh=body_zh,
            title_en=title_en,
            body_en=body_en,
        )
        for vote in range((seed + index * 7) % 9):
            kb.kb_article_vote(article=article, helpful=vote % 4 != 3, voter=f"demo:{vote}")
    return {"knowledge base categories": len(categories), "knowledge base articles": len(ARTICLES)}
