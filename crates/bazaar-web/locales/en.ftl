# Bazaar — English (complete: a unit test checks every zh-CN message has one here).

## Frame
brand = Village goods
nav-search = Search
search-placeholder = Search: 蜂蜜, fengmi, fm…
nav-manage = Back office
nav-language = Language
back = Back

## Home and pavilions
page-home = Home
pavilions-heading = County pavilions
pavilion-products = { $n ->
    [one] { $n } product
   *[other] { $n } products
}
pavilion-title = { $name } pavilion
pavilion-not-found = No such pavilion
pavilion-more = More products

## Search
search-no-match = Nothing matches “{ $q }”.
search-did-you-mean = Did you mean:
results-count = { $n ->
    [one] { $n } result
   *[other] { $n } results
}
filter-county = County
filter-all-counties = All counties
filter-category = Category
filter-all-categories = All categories
filter-gi = GI brand
filter-poverty = Poverty alleviation
filter-apply = Filter

## Product
price-from = from
product-not-found = No such product
tag-gi = GI brand { $brand }
tag-poverty = Poverty alleviation
tag-green = Green food
tag-organic = Organic
tag-cold-chain = Cold chain
product-origin = Origin
product-producer = Producer
product-listed-by = Listed by service point
product-options = Options
product-shelf-life = Shelf life: { $days } days
product-certificate = Poverty-alleviation product certificate: { $no }
product-photo = Photo of { $name }

## Categories
cat-honey = Honey
cat-grain_oil = Grain & oil
cat-fresh_produce = Fresh produce
cat-dried_fruit_nuts = Dried fruit & nuts
cat-meat_dairy = Meat & dairy
cat-condiment = Condiments
cat-tea_drink = Tea & drinks
cat-fungi = Fungi
cat-medicinal = Medicinal
cat-craft = Crafts

## Sign in
login-title = Sign in
login-username = Username
login-password = Password
login-submit = Sign in
login-missing = Enter your username and password.
csrf-expired = The form expired or was not sent from this site. Go back, reload and try again.

## Back office
manage-title = Back office
manage-signed-in-as = Signed in as { $user } ({ $role })
manage-sign-out = Sign out
manage-reason = Reason
manage-products = Products
manage-sellers = Seller review
manage-new-product = New product
manage-register-seller = Register a villager as seller
manage-import = Import CSV
manage-users = Users
manage-done = Saved.
manage-nothing = Nothing here
manage-pending-sellers = Sellers waiting for review
manage-approve = Approve
manage-reject = Reject
manage-save = Save
manage-upload = Upload
manage-photos = Photos
manage-add-photo = Add a photo
manage-add-sku = Add an option
manage-edit = Edit
manage-import-hint = Upload a CSV of regions or network nodes. A file with any error is refused as a whole, with every bad row listed.
manage-import-kind = File type
manage-import-done = Imported { $n } rows.
manage-row-error = Line { $line } · { $column }: { $reason }
manage-next-page = Next page

status-draft = Draft
status-in_review = In review
status-listed = Listed
status-delisted = Delisted
action-submit = Submit for review
action-approve = Approve and list
action-reject = Reject
action-delist = Delist

seller-status-pending = Pending
seller-status-approved = Approved
seller-status-rejected = Rejected
seller-kind-household = Household
seller-kind-cooperative = Cooperative
seller-kind-enterprise = Enterprise
poverty-none = Not a poverty-alleviation household
poverty-lifted = Lifted out of poverty (脱贫户)
poverty-monitored = Monitored household (监测户)

role-admin = Platform admin
role-operator = Operator
role-agent = Station agent
role-seller = Seller
role-host = Host
role-driver = Driver
role-buyer = Buyer
role-institution = Institutional buyer

## Field names (used in error messages)
field-username = Username
field-password = Password
field-name = Name
field-name_en = English name
field-code = Code
field-kind = Kind
field-category = Category
field-description = Description
field-gi_brand = GI brand
field-poverty_cert_no = Poverty-alleviation certificate number
field-poverty_status = Poverty-alleviation status
field-registration_no = Registration number
field-village_code = Village
field-region = Region
field-region_code = Region code
field-parent_code = Parent code
field-seller_id = Seller
field-spec = Specification
field-price_fen = Price
field-price = Price
field-weight_g = Weight
field-volume_ml = Volume
field-barcode = Barcode
field-shelf_life_days = Shelf life
field-contact_name = Contact
field-contact_phone = Contact phone
field-phone = Phone
field-address = Address
field-lat = Latitude
field-lng = Longitude
field-opens = Opening time
field-closes = Closing time
field-reason = Reason
field-action = Action
field-decision = Decision
field-status = Status
field-limit = Page size
field-cursor = Page cursor
field-poverty = Poverty-alleviation filter
field-county = County
field-file = File
field-photo = Photo
field-role = Role
field-display_name = Display name
field-node_code = Service point
field-timezone = Time zone

## Reasons
reason-required = required
reason-too_long = too long
reason-invalid_format = not in the expected format
reason-unknown_choice = not one of the allowed values
reason-out_of_range = out of the allowed range
reason-unknown_reference = refers to something that does not exist
reason-duplicate = already taken
reason-inconsistent = contradicts another field
reason-out_of_scope = outside your region
reason-not_an_image = not a JPEG, PNG or WebP image
reason-too_large = file too large

## Errors
error-field = { $field }: { $reason }
error-invalid_input = The input is invalid; check the named field
error-invalid_json = The request body is not valid JSON
error-unauthenticated = Please sign in first
error-bad_credentials = Wrong username or password
error-too_many_attempts = Too many attempts; try again in 15 minutes
error-forbidden = You may not do this
error-not_found = Not found
error-invalid_transition = This action is not allowed in the current status
error-seller_not_approved = The seller is not approved yet
error-product_has_no_skus = The product needs at least one SKU
error-invalid_csv = The CSV file has errors; nothing was imported
error-unsupported_media_type = This file type is not supported
error-payload_too_large = The upload is too large
error-out_of_stock = Out of stock; nothing was reserved
error-price_changed = The price has changed; confirm the new price and order again
error-address_not_served = This address is outside the delivery area
error-product_not_listed = This product is not on sale
error-payment_mismatch = The payment does not match the order
error-no_default_address = Add a delivery address first
error-internal = Internal server error

## Cart, checkout and orders
nav-cart = Cart
nav-orders = My orders
cart-title = Cart
cart-quantity = Quantity
cart-add = Add to cart
cart-update = Update
cart-remove = Remove
cart-price-changed = The price changed from { $was } to { $now }; checkout uses the new price
cart-subtotal = Items total
cart-empty = Your cart is empty.
cart-checkout = Check out
checkout-title = Checkout
checkout-no-address = No delivery address yet; add one first.
checkout-address = Delivery address
checkout-method = Payment method
checkout-shipping-note = Shipping follows the rules of the origin county and is shown on the order.
checkout-place = Place order
checkout-new-address = New delivery address
field-recipient = Recipient
pay-sandbox = Sandbox payment (demo, no money moves)
pay-station_cash = Cash at the village station
pay-bank_transfer = Bank transfer (institutions)
pay-sandbox-banner = This is the sandbox payment provider: for demos and tests only; no money moves.
pay-sandbox-succeed = Simulate a successful payment
pay-sandbox-fail = Simulate a failed payment
orders-title = My orders
order-title = Order #{ $id }
order-title-short = Order
order-total = Total
order-shipping = Shipping
order-pay-by = Pay before { $time }; unpaid orders are cancelled after that.
order-pay = Pay
order-cancel = Cancel order
order-timeline = Progress
order-status-pending_payment = Awaiting payment
order-status-paid = Paid
order-status-fulfilling = Being packed
order-status-shipped = Shipped
order-status-delivered = Delivered
order-status-completed = Completed
order-status-cancelled = Cancelled
order-status-refund_requested = Refund requested
order-status-refunded = Refunded
orders-all = All statuses
orders-seller-title = Orders to ship
orders-mark-shipped = Mark as shipped
station-title = Buy for villagers
station-lines = Items (one per line: SKU code and quantity)
station-hint = The parcel comes to this service point; the villager pays cash at the station and the agent confirms it.
station-place = Place the order for the villager
station-orders = Orders of this station
field-villager_name = Villager's name
field-villager_ref = ID-card last four digits or phone
field-lines = Items
field-part_ids = Parcels
payments-title = Payment confirmations
payments-confirm = Confirm payment received
payments-confirm-cash = Cash received
field-delivery_date = Delivery date
field-invoice_title = Invoice title
field-invoice_tax_id = Taxpayer id
field-year = Year
error-refund_window_closed = The refund window (15 days after payment) has closed
refunds-title = Refunds
refund-approve = Approve the refund
refund-reject = Reject
refund-reason = Why do you want a refund?
refund-request = Ask for a refund
refund-status-requested = Waiting
refund-status-rejected = Rejected (may be arbitrated)
refund-status-refunded = Refunded
procurement-title = Institutional procurement
procurement-year = Bought in { $year }: { $total }, of which poverty-alleviation products { $poverty }
procurement-hint = Institutions pay by bank transfer, confirmed by the county operator; the order waits 7 days for payment.
reason-out_of_stock = not enough stock
field-quantity = Quantity
field-items = Items
field-address_id = Delivery address
field-volume_cm3 = Volume
field-location = Stock location
field-from = From
field-to = To
field-incoming = Incoming
field-sku = Option
field-op = Operation
stock-title = Stock
stock-home = Seller's home
stock-location = Location
stock-on-hand = On hand
stock-reserved = Reserved
stock-incoming = Incoming
stock-available = Available
stock-arrived = Book arrival
stock-set = Set stock
stock-from = From
stock-to = To
stock-quantity = Quantity
stock-transfer = Transfer
field-photos = Photos
refund-photos = Photos (up to 3)
order-receive = Confirm receipt
error-refund_decided = The refund request has been decided; no more photos can be added
error-refund_changed = The refund request just changed; please try again
address-to-door = To the door
address-all-regions = China
address-province = Province
address-next-level = Next level
address-pick = Choose
