//! Income reports in the back office: sales per producer and month (a seller's own, a station
//! agent's villagers, an operator's region), and for operators the county figures of sales that
//! reached poverty-alleviation households. Each table downloads as CSV (UTF-8 with a BOM, so
//! spreadsheet programs read the Chinese names).

use crate::AppState;
use crate::app::backoffice::Ctx;
use crate::app::i18n::Lang;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bazaar_domain::money::Fen;
use bazaar_domain::people::Role;
use bazaar_domain::time::{Zone, now_ms};
use bazaar_domain::{FieldError, Reason};
use bazaar_store::StoreError;
use bazaar_store::stats::reports::{CountySales, MonthSales};

/// Query of the reports page: `year` (default this year) and `format=csv` with `table`.
struct Query {
    year: i32,
    csv: Option<String>,
}

fn query(uri: &Uri) -> Result<Query, StoreError> {
    let this_year = Zone::Shanghai.month_of(now_ms())[..4]
        .parse::<i32>()
        .unwrap_or(2026);
    let mut q = Query {
        year: this_year,
        csv: None,
    };
    let mut format_csv = false;
    let mut table = None;
    for (k, v) in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
    {
        match k {
            "year" if !v.is_empty() => {
                q.year = v
                    .parse::<i32>()
                    .ok()
                    .filter(|y| (2000..=2100).contains(y))
                    .ok_or_else(|| {
                        StoreError::Invalid(vec![FieldError::new("year", Reason::OutOfRange)])
                    })?;
            }
            "format" => format_csv = v == "csv",
            "table" => table = Some(v.to_string()),
            _ => {}
        }
    }
    if format_csv {
        q.csv = Some(table.unwrap_or_else(|| "sales".into()));
    }
    Ok(q)
}

/// One CSV field, quoted when it needs to be; a leading formula character is neutralised.
pub(crate) fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

fn csv_response(name: &str, rows: Vec<Vec<String>>) -> Response {
    let mut body = String::from("\u{feff}");
    for r in rows {
        body.push_str(&r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        body.push_str("\r\n");
    }
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

fn sales_rows(cx: &Ctx, sales: &[MonthSales]) -> Vec<Vec<String>> {
    let t = |k: &str| cx.lang.t(k);
    let mut rows = vec![vec![
        t("report-month"),
        t("report-producer"),
        t("report-orders"),
        t("report-units"),
        t("report-sales"),
    ]];
    for m in sales {
        rows.push(vec![
            m.month.clone(),
            m.seller.clone(),
            m.orders.to_string(),
            m.units.to_string(),
            yuan(m.sales_fen),
        ]);
    }
    rows
}

fn county_rows(cx: &Ctx, counties: &[CountySales]) -> Vec<Vec<String>> {
    let t = |k: &str| cx.lang.t(k);
    let mut rows = vec![vec![
        t("report-county"),
        t("report-sales"),
        t("report-poverty-households"),
        t("report-poverty-products"),
    ]];
    for c in counties {
        rows.push(vec![
            c.county.clone(),
            yuan(c.sales_fen),
            yuan(c.poverty_household_fen),
            yuan(c.poverty_product_fen),
        ]);
    }
    rows
}

/// The reports page: the year asked for, the sales of the caller's producers by month, and
/// for operators the county figures of sales to poverty-alleviation households. A table is
/// its rows, the first the heading; `None` when there is nothing to show.
#[derive(Template)]
#[template(path = "stats/manage_reports.html")]
struct ReportsPage {
    lang: Lang,
    year: i32,
    /// The year's total sentence.
    total: String,
    sales: Option<Vec<Vec<String>>>,
    /// The caller sees the county figures.
    poverty: bool,
    counties: Option<Vec<Vec<String>>>,
}

/// `GET /manage/reports?year=YYYY[&format=csv&table=sales|counties]`.
pub async fn reports(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    if !matches!(
        cx.actor.role,
        Role::Admin | Role::Operator | Role::Agent | Role::Seller
    ) {
        return cx.error_page(StoreError::Forbidden, "/manage");
    }
    let q = match query(&uri) {
        Ok(q) => q,
        Err(e) => return cx.error_page(e, "/manage/reports"),
    };
    let sales = match s.store.monthly_sales(&cx.actor, q.year).await {
        Ok(v) => v,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let counties = if matches!(cx.actor.role, Role::Admin | Role::Operator) {
        match s.store.poverty_sales(&cx.actor, q.year).await {
            Ok(v) => Some(v),
            Err(e) => return cx.error_page(e, "/manage"),
        }
    } else {
        None
    };
    match (q.csv.as_deref(), &counties) {
        (Some("counties"), Some(c)) => {
            return csv_response(
                &format!("poverty-sales-{}.csv", q.year),
                county_rows(&cx, c),
            );
        }
        (Some(_), _) => {
            return csv_response(&format!("sales-{}.csv", q.year), sales_rows(&cx, &sales));
        }
        _ => {}
    }
    let total: i64 = sales.iter().map(|m| m.sales_fen).sum();
    let total = lang.ta(
        "report-sales-total",
        &[
            ("year", q.year.into()),
            ("total", Fen(total).to_string().into()),
        ],
    );
    cx.render(
        StatusCode::OK,
        &lang.t("report-title"),
        &ReportsPage {
            lang,
            year: q.year,
            total,
            sales: (!sales.is_empty()).then(|| sales_rows(&cx, &sales)),
            poverty: counties.is_some(),
            counties: counties
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(|c| county_rows(&cx, c)),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("蜂蜜"), "蜂蜜");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(yuan(123456), "1234.56");
        assert_eq!(yuan(5), "0.05");
    }
}
