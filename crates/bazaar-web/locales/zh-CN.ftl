# Bazaar — 简体中文（默认语言，也是其他语言缺词时的后备）。
# 键名规则：页面-用途；error-<错误码>；reason-<原因码>；field-<字段名>；cat-<类目码>。

## 页框
brand = 乡村好物
nav-search = 搜索
search-placeholder = 搜索：蜂蜜、fengmi、fm…
nav-manage = 管理
nav-language = 语言
back = 返回

## 首页与地方馆
page-home = 首页
pavilions-heading = 地方馆
pavilion-products = { $n } 件商品
pavilion-title = { $name }地方馆
pavilion-not-found = 未找到该地方馆
pavilion-more = 更多商品

## 搜索
search-no-match = 没有找到“{ $q }”。
search-did-you-mean = 您是不是要找：
results-count = { $n } 个结果
filter-county = 县
filter-all-counties = 全部县
filter-category = 类目
filter-all-categories = 全部类目
filter-gi = 地理标志
filter-poverty = 扶贫产品
filter-apply = 筛选

## 商品
price-from = 起
product-not-found = 未找到该商品
tag-gi = 地理标志 { $brand }
tag-poverty = 扶贫产品
tag-green = 绿色食品
tag-organic = 有机产品
tag-cold-chain = 冷链
product-origin = 产地
product-producer = 生产者
product-listed-by = 代卖服务点
product-options = 规格
product-shelf-life = 保质期：{ $days } 天
product-certificate = 扶贫产品认定编号：{ $no }
product-photo = { $name } 图片

## 类目
cat-honey = 蜂蜜
cat-grain_oil = 粮油
cat-fresh_produce = 生鲜果蔬
cat-dried_fruit_nuts = 干果坚果
cat-meat_dairy = 肉禽乳品
cat-condiment = 调味品
cat-tea_drink = 茶饮
cat-fungi = 菌菇
cat-medicinal = 滋补药材
cat-craft = 手工艺品

## 登录
login-title = 登录
login-username = 用户名
login-password = 密码
login-submit = 登录
login-missing = 请输入用户名和密码。
csrf-expired = 表单已过期或并非来自本站，请返回刷新后重试。

## 管理后台
manage-title = 管理
manage-signed-in-as = 当前用户 { $user }（{ $role }）
manage-sign-out = 退出登录
manage-reason = 原因
manage-products = 商品
manage-sellers = 卖家审核
manage-new-product = 发布商品
manage-register-seller = 代办卖家登记
manage-import = 导入 CSV
manage-users = 用户
manage-done = 已保存。
manage-nothing = 暂无
manage-pending-sellers = 待审核的卖家
manage-approve = 通过
manage-reject = 驳回
manage-save = 保存
manage-upload = 上传
manage-photos = 图片
manage-add-photo = 添加图片
manage-add-sku = 添加规格
manage-edit = 编辑
manage-import-hint = 上传区划或网点 CSV 文件。文件有任何错误时整份拒收，并列出每一行错误。
manage-import-kind = 文件类型
manage-import-done = 已导入 { $n } 行。
manage-row-error = 第 { $line } 行 · { $column }：{ $reason }
manage-next-page = 下一页

status-draft = 草稿
status-in_review = 待审核
status-listed = 已上架
status-delisted = 已下架
action-submit = 提交审核
action-approve = 通过上架
action-reject = 驳回
action-delist = 下架

seller-status-pending = 待审核
seller-status-approved = 已通过
seller-status-rejected = 已驳回
seller-kind-household = 农户
seller-kind-cooperative = 合作社
seller-kind-enterprise = 企业
poverty-none = 非扶贫户
poverty-lifted = 脱贫户
poverty-monitored = 监测户

role-admin = 平台管理员
role-operator = 运营人员
role-agent = 服务站代办员
role-seller = 卖家
role-host = 主播
role-driver = 司机
role-buyer = 买家
role-institution = 单位采购

## 字段名（错误提示中使用）
field-username = 用户名
field-password = 密码
field-name = 名称
field-name_en = 英文名
field-code = 编码
field-kind = 类型
field-category = 类目
field-description = 描述
field-gi_brand = 地理标志
field-poverty_cert_no = 扶贫产品认定编号
field-poverty_status = 扶贫身份
field-registration_no = 登记编号
field-village_code = 所在村
field-region = 区划
field-region_code = 区划编码
field-parent_code = 上级编码
field-seller_id = 卖家
field-spec = 规格
field-price_fen = 价格
field-price = 价格
field-weight_g = 重量
field-volume_ml = 体积
field-barcode = 条码
field-shelf_life_days = 保质期
field-contact_name = 联系人
field-contact_phone = 联系电话
field-phone = 电话
field-address = 地址
field-lat = 纬度
field-lng = 经度
field-opens = 开门时间
field-closes = 关门时间
field-reason = 原因
field-action = 操作
field-decision = 审核结果
field-status = 状态
field-limit = 每页条数
field-cursor = 分页游标
field-poverty = 扶贫筛选
field-county = 县
field-file = 文件
field-photo = 图片
field-role = 角色
field-display_name = 显示名称
field-node_code = 服务网点
field-timezone = 时区

## 原因
reason-required = 必填
reason-too_long = 太长
reason-invalid_format = 格式不正确
reason-unknown_choice = 不是可选的值
reason-out_of_range = 超出允许范围
reason-unknown_reference = 引用的对象不存在
reason-duplicate = 已被占用
reason-inconsistent = 与其他字段矛盾
reason-out_of_scope = 超出您的管辖范围
reason-not_an_image = 不是 JPEG、PNG 或 WebP 图片
reason-too_large = 文件太大

## 错误
error-field = { $field }：{ $reason }
error-invalid_input = 输入有误，请检查标出的字段
error-invalid_json = 请求体不是有效的 JSON
error-unauthenticated = 请先登录
error-bad_credentials = 用户名或密码错误
error-too_many_attempts = 尝试次数过多，请 15 分钟后再试
error-forbidden = 您没有权限执行此操作
error-not_found = 未找到
error-invalid_transition = 当前状态下不能执行此操作
error-seller_not_approved = 卖家尚未通过审核
error-product_has_no_skus = 商品至少需要一个规格
error-invalid_csv = CSV 文件有错误，未导入任何内容
error-unsupported_media_type = 不支持的文件类型
error-payload_too_large = 上传的内容太大
error-out_of_stock = 库存不足，未占用任何库存
error-price_changed = 商品价格已变动，请确认新价格后重新下单
error-address_not_served = 该收货地址暂不在配送范围内
error-product_not_listed = 商品未上架，不能购买
error-payment_mismatch = 支付金额与订单不符
error-no_default_address = 请先添加收货地址
error-internal = 服务器内部错误

## 购物车、结算与订单
nav-cart = 购物车
nav-orders = 我的订单
cart-title = 购物车
cart-quantity = 数量
cart-add = 加入购物车
cart-update = 更新
cart-remove = 删除
cart-price-changed = 价格已从 { $was } 变为 { $now }，结算时按新价格
cart-subtotal = 商品合计
cart-empty = 购物车是空的。
cart-checkout = 去结算
checkout-title = 结算
checkout-no-address = 还没有收货地址，请先添加。
checkout-address = 收货地址
checkout-method = 支付方式
checkout-shipping-note = 运费按产地县的规则计算，下单后显示在订单中。
checkout-place = 提交订单
checkout-new-address = 新增收货地址
field-recipient = 收货人
pay-sandbox = 沙箱支付（演示，不扣款）
pay-station_cash = 到站付款（服务站收现金）
pay-bank_transfer = 银行转账（单位采购）
pay-sandbox-banner = 这是沙箱支付提供方：仅用于演示和测试，不会真实扣款。
pay-sandbox-succeed = 模拟支付成功
pay-sandbox-fail = 模拟支付失败
orders-title = 我的订单
order-title = 订单 #{ $id }
order-title-short = 订单
order-total = 合计
order-shipping = 运费
order-pay-by = 请在 { $time } 前付款，逾期订单自动取消。
order-pay = 去付款
order-cancel = 取消订单
order-timeline = 订单进度
order-status-pending_payment = 待付款
order-status-paid = 已付款
order-status-fulfilling = 备货中
order-status-shipped = 已发货
order-status-delivered = 已送达
order-status-completed = 已完成
order-status-cancelled = 已取消
order-status-refund_requested = 退款申请中
order-status-refunded = 已退款
orders-all = 全部状态
orders-seller-title = 订单发货
orders-mark-shipped = 标记为已发货
station-title = 代买
station-lines = 商品（每行：规格编码 数量）
station-hint = 订单寄到本服务点，村民到站付现金，由代办员确认收款。
station-place = 为村民下单
station-orders = 本站订单
field-villager_name = 村民姓名
field-villager_ref = 身份证后四位或电话
field-lines = 商品
field-part_ids = 包裹
payments-title = 收款确认
payments-confirm = 确认收款
payments-confirm-cash = 已收现金
field-delivery_date = 送达日期
field-invoice_title = 发票抬头
field-invoice_tax_id = 纳税人识别号
field-year = 年份
error-refund_window_closed = 已超过退款申请期限（付款后 15 天）
