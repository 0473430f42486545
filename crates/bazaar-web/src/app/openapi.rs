//! The OpenAPI 3 document of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! annotations and the types they take and answer; served at `/api/openapi.json`.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bazaar API",
        description = "Rural e-commerce public service platform. Errors are `{\"error\": {\"code\", \"message\", \"field\"}}`; messages follow `Accept-Language` (zh-CN, en, ug, bo) or `?lang=`. Money is integer fen.",
        license(name = "Apache-2.0")
    ),
    paths(
        crate::app::api::healthz,
        crate::people::api::create_session,
        crate::people::api::delete_session,
        crate::people::api::me,
        crate::people::api::users,
        crate::people::api::create_user,
        crate::network::api::regions,
        crate::network::api::nodes,
        crate::network::api::import_csv,
        crate::network::api::export_csv,
        crate::catalog::api::sellers,
        crate::catalog::api::create_seller,
        crate::catalog::api::seller,
        crate::catalog::api::decide_seller,
        crate::catalog::api::products,
        crate::catalog::api::create_product,
        crate::catalog::api::product,
        crate::catalog::api::patch_product,
        crate::catalog::api::product_action,
        crate::catalog::api::upload_photo,
        crate::orders::api::add_address,
        crate::orders::api::addresses,
        crate::catalog::api::add_sku,
        crate::catalog::api::update_sku,
        crate::orders::api::set_stock,
        crate::orders::api::stock,
        crate::orders::api::transfer_stock,
        crate::orders::api::receive_stock,
        crate::orders::api::place_order,
        crate::orders::api::my_orders,
        crate::orders::api::order,
        crate::orders::api::cancel,
        crate::orders::api::deliver,
        crate::delivery::plans::plan_api,
        crate::logistics::api::create_parcel,
        crate::logistics::api::parcel,
        crate::logistics::api::scans,
        crate::logistics::api::order_parcels,
        crate::logistics::api::kuaidi100_push,
        crate::logistics::api::carrier_events,
        crate::logistics::api::pickup,
        crate::logistics::api::tracking_batch,
        crate::delivery::runs::create_api,
        crate::delivery::runs::get_api,
        crate::delivery::runs::action_api,
        crate::delivery::runs::manifest_api,
        crate::logistics::api::manifest,
        crate::logistics::api::shelf,
        crate::logistics::api::stalled,
        crate::logistics::api::add_note,
        crate::logistics::api::failed_notifications,
        crate::logistics::api::retry_notification,
        crate::live::create_session,
        crate::live::session,
        crate::live::session_action,
        crate::live::create_offer,
        crate::live::offer,
        crate::live::offer_action,
        crate::live::flash_order,
        crate::live::events,
        crate::live::dashboard,
        crate::jobs::api::jobs,
        crate::jobs::api::retry,
        crate::logistics::api::watch_rules,
        crate::logistics::api::set_watch_rule,
        crate::logistics::wechat::bind,
        crate::logistics::wechat::get_binding,
        crate::logistics::wechat::unbind,
        crate::orders::api::receive,
        crate::orders::api::start_payment,
        crate::orders::api::sandbox_notification,
        crate::orders::api::confirm_payment,
        crate::orders::api::seller_parts,
        crate::orders::api::ship,
        crate::orders::api::station_orders,
        crate::orders::api::pending_payments,
        crate::orders::api::sales_report,
        crate::orders::api::poverty_report,
        crate::orders::api::institution_report,
        crate::orders::api::request_refund,
        crate::orders::api::refunds,
        crate::orders::api::refund_photo,
        crate::orders::api::decide_refund,
        crate::orders::api::set_shipping_rule,
        crate::orders::api::import_orders,
    ),
    modifiers(&BearerAuth, &CommonAnswers),
    tags(
        (name = "people", description = "Sessions and users"),
        (name = "network", description = "Regions and the service network"),
        (name = "sellers", description = "Households, cooperatives and enterprises"),
        (name = "catalog", description = "Products and SKUs"),
        (name = "orders", description = "Stock, addresses, orders and payments"),
        (name = "operations", description = "Health and metrics"),
        (name = "live", description = "Live sessions, flash offers and flash orders"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer token scheme used by `security(("bearer" = []))`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from POST /api/v1/sessions"))
                    .build(),
            ),
        );
    }
}

/// Documents the answers every operation of a kind can give, whatever its handler: 400 for
/// a parameter or body breaking the schema, 401 for a bad bearer token (every operation that
/// reads one), 413 over the body limit and 415 for a JSON body sent as something else.
/// Operation-specific answers (403, 404, 409, 422, 429) stay in each `#[utoipa::path]`.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::Operation;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        let add = |op: &mut Operation, status: &str, description: &str| {
            op.responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| error(description).into());
        };
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let json_body = op
                    .request_body
                    .as_ref()
                    .map(|b| b.content.contains_key("application/json"));
                if has_params || json_body.is_some() {
                    add(
                        op,
                        "400",
                        "A parameter or the body breaks this document: `invalid_input` names the field and the reason, `invalid_json` is a body that is not JSON",
                    );
                }
                let bearer = op.security.as_ref().is_some_and(|s| {
                    serde_json::to_value(s).is_ok_and(|v| v.to_string().contains("\"bearer\""))
                });
                if bearer {
                    add(
                        op,
                        "401",
                        "`unauthenticated`: not signed in (where a token is required), or the bearer token is unknown or expired",
                    );
                }
                if json_body.is_some() {
                    add(
                        op,
                        "413",
                        "`payload_too_large`: the body is over the route's limit",
                    );
                }
                if json_body == Some(true) {
                    add(
                        op,
                        "415",
                        "`json_content_type`: the body is not sent as `application/json`",
                    );
                }
            }
        }
    }
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    serde_json::to_value(ApiDoc::openapi())
        .map(|mut doc| {
            conditional_bodies(&mut doc);
            // The plan day is read by the planning crate, which knows nothing of OpenAPI.
            if let Some(schema) = doc.pointer_mut(
                "/paths/~1api~1v1~1plans/post/requestBody/content/application~1json/schema",
            ) {
                *schema = serde_json::json!({"$ref": "#/components/schemas/PlanDay"});
            }
            doc.to_string()
        })
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
});

/// Text without control characters other than tab and line breaks (`optional_text`).
const TEXT: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";
/// The same, with at least one character that is not white space (`required_text`).
const REQUIRED_TEXT: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// Bodies whose required fields depend on another field, which the derive cannot say: one
/// variant per choice (`oneOf`), each with its own required fields.
fn conditional_bodies(doc: &mut serde_json::Value) {
    use serde_json::json;
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    else {
        return;
    };
    let decision = |description: &str| {
        json!({
            "description": description,
            "oneOf": [
                {"type": "object", "required": ["decision"], "properties": {
                    "decision": {"type": "string", "enum": ["approve"]},
                    "reason": {"type": ["string", "null"], "maxLength": 500, "pattern": TEXT}}},
                {"type": "object", "required": ["decision", "reason"], "properties": {
                    "decision": {"type": "string", "enum": ["reject"]},
                    "reason": {"type": "string", "maxLength": 500, "pattern": REQUIRED_TEXT}}}
            ]
        })
    };
    schemas.insert(
        "DecisionBody".into(),
        decision("A seller decision: approve, or reject with a reason (at most 500 characters)"),
    );
    schemas.insert(
        "RefundDecisionBody".into(),
        decision("A refund decision: approve, or reject with a reason (at most 500 characters)"),
    );
    schemas.insert(
        "ActionBody".into(),
        json!({
            "description": "A product's next step: submit or approve; reject or delist with a reason (at most 500 characters; an owner delisting its own product may leave it out)",
            "oneOf": [
                {"type": "object", "required": ["action"], "properties": {
                    "action": {"type": "string", "enum": ["submit", "approve"]},
                    "reason": {"type": ["string", "null"], "maxLength": 500, "pattern": TEXT}}},
                {"type": "object", "required": ["action", "reason"], "properties": {
                    "action": {"type": "string", "enum": ["reject", "delist"]},
                    "reason": {"type": "string", "maxLength": 500, "pattern": REQUIRED_TEXT}}}
            ]
        }),
    );
    // One scan, or a phone's queue: a body with `scans` is a queue. A queued scan that
    // cannot be recorded (no client id, an unknown kind, a time out of range, …) is refused
    // on its own in the answer, so the queue's items are only typed here; a single scan is
    // held to `ScanInput`. (`node_id` and `destination_node_id` are accepted for `node_code`
    // and `dest_node`, one name of each at a time.)
    let text = json!({"type": ["string", "null"]});
    let queued = json!({
        "type": "object", "required": ["waybill", "kind"],
        "properties": {
            "client_id": {"type": "string", "description": "Required for the scan to be recorded"},
            "waybill": {"type": "string"}, "kind": {"type": "string"},
            "carrier": text, "node_code": text, "sack": text,
            "signature": text, "recipient_name": text, "recipient_phone": text,
            "dest_node": text,
            "at": {"type": ["integer", "null"], "minimum": i64::MIN, "maximum": i64::MAX}
        }
    });
    schemas.insert(
        "ScansBody".into(),
        json!({
            "description": "One scan, or a phone's queue as `{\"scans\": [...]}` (at most 5,000, each with its `client_id`; each answered on its own)",
            "anyOf": [
                {"allOf": [{"$ref": "#/components/schemas/ScanInput"}], "not": {"required": ["scans"]}},
                {"type": "object", "required": ["scans"], "properties": {
                    "scans": {"type": "array", "maxItems": 5000, "items": queued}}}
            ]
        }),
    );
    schemas.insert("PlanDay".into(), plan_day());
    schemas.insert(
        "RunAction".into(),
        json!({
            "description": "move a stop to a vehicle, publish the run, or report a vehicle's breakdown",
            "oneOf": [
                {"type": "object", "required": ["action", "stop", "vehicle"], "properties": {
                    "action": {"type": "string", "enum": ["move"]},
                    "stop": {"type": "string", "pattern": "\\S"},
                    "vehicle": {"type": "string", "pattern": "\\S"}}},
                {"type": "object", "required": ["action"], "properties": {
                    "action": {"type": "string", "enum": ["publish"]}}},
                {"type": "object", "required": ["action", "vehicle"], "properties": {
                    "action": {"type": "string", "enum": ["breakdown"]},
                    "vehicle": {"type": "string", "pattern": "\\S"}}}
            ]
        }),
    );
}

/// The day a plan reads (`bazaar_plan::DayInput`), with the limits `DayInput::validate`
/// enforces; what no schema can say (ids listed twice, closing before opening, no vehicle
/// at all) is 422.
fn plan_day() -> serde_json::Value {
    use serde_json::json;
    let clock = json!({"type": "string", "pattern": "^\\s*([01]?[0-9]|2[0-3]):[0-5][0-9]\\s*$|^\\s*24:00\\s*$"});
    let amount = json!({"type": "number", "minimum": 0, "exclusiveMaximum": 1_000_000});
    let lat = json!({"type": "number", "minimum": -90, "maximum": 90});
    let lng = json!({"type": "number", "minimum": -180, "maximum": 180});
    let id = json!({"type": "string", "maxLength": 60});
    let vehicle = json!({
        "type": "object", "required": ["id", "capacity_kg", "capacity_m3"],
        "properties": {
            "id": id,
            "count": {"type": "integer", "minimum": 1, "maximum": 1000},
            "capacity_kg": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1_000_000},
            "capacity_m3": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1_000_000},
            "cold_chain": {"type": "boolean"},
            "skills": {"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": 40}},
            "fixed_cost_fen": {"type": "integer", "minimum": 0, "maximum": 100_000_000},
            "cost_per_km_fen": {"type": "integer", "minimum": 0, "maximum": 100_000},
            "shift_start": clock, "shift_end": clock,
            "start": {"type": ["array", "null"], "prefixItems": [lat, lng], "minItems": 2, "maxItems": 2}
        }
    });
    json!({
        "description": "The day to plan: depots (distribution centres) with their vehicles, and the stops with what to drop and collect (docs/PLANNING.md). Times are `HH:MM` local; amounts are kg and m³; costs are fen",
        "type": "object", "required": ["depots", "stops"],
        "properties": {
            "depots": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {
                "type": "object", "required": ["id", "lat", "lng"],
                "properties": {
                    "id": id, "name": {"type": "string", "maxLength": 120},
                    "lat": lat, "lng": lng, "opens": clock, "closes": clock,
                    "vehicles": {"type": "array", "maxItems": 1000, "items": vehicle}
                }}},
            "stops": {"type": "array", "maxItems": 3000, "items": {
                "type": "object", "required": ["id", "lat", "lng"],
                "properties": {
                    "id": id, "name": {"type": "string", "maxLength": 120},
                    "lat": lat, "lng": lng,
                    "deliver_kg": amount, "deliver_m3": amount, "cold_kg": amount,
                    "cold_m3": amount, "pickup_kg": amount, "pickup_m3": amount,
                    "opens": clock, "closes": clock, "service_minutes": amount
                }}}
        }
    })
}

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}
