//! CSV import and export of the region tree and the service network.
//!
//! An import is all or nothing: every row is checked first (shape, references to regions and
//! nodes in the database or earlier in the file, the caller's scope), every bad row is reported
//! with its line, column and reason, and only a file without a single bad row is written, in
//! one transaction. Existing codes are updated; new codes are created.

use crate::db::page::Param;
use crate::error::RowError;
use crate::network::{NodeInput, insert_node_sql};
use crate::{Store, StoreError, bind_params, in_tx, on_read};
use bazaar_domain::people::Actor;
use bazaar_domain::region::{LatLng, NewRegion, RegionCode, RegionLevel};
use bazaar_domain::time::{Zone, now_ms};
use bazaar_domain::{FieldError, Reason};
use std::collections::HashMap;

/// Largest accepted file: 20 MiB.
pub const MAX_CSV_BYTES: usize = 20 * 1024 * 1024;

/// Columns of a region file, in export order.
pub const REGION_COLUMNS: [&str; 8] = [
    "code",
    "name",
    "name_en",
    "level",
    "parent_code",
    "lat",
    "lng",
    "timezone",
];
/// Columns of a node file, in export order.
pub const NODE_COLUMNS: [&str; 13] = [
    "code",
    "name",
    "kind",
    "region_code",
    "parent_code",
    "lat",
    "lng",
    "opens",
    "closes",
    "contact_name",
    "contact_phone",
    "address",
    "lang",
];

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    /// Rows that created a record.
    pub created: u64,
    /// Rows that updated an existing record.
    pub updated: u64,
}

/// A parsed CSV file: its rows as column → value maps, with line numbers.
pub struct CsvRows {
    /// (line, values by column name).
    pub rows: Vec<(u64, HashMap<String, String>)>,
}

/// Reads a CSV file: UTF-8 (a BOM is ignored), a header naming known columns, every required
/// column present. Errors are reported per line and column.
pub fn read_csv(bytes: &[u8], known: &[&str], required: &[&str]) -> Result<CsvRows, Vec<RowError>> {
    let err = |line: u64, column: &str, reason: &str| RowError {
        line,
        column: column.to_string(),
        reason: reason.to_string(),
    };
    if bytes.len() > MAX_CSV_BYTES {
        return Err(vec![err(0, "", "file_too_large")]);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_err() {
        return Err(vec![err(0, "", "not_utf8")]);
    }
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(_) => return Err(vec![err(1, "", "invalid_format")]),
    };
    let mut errors = Vec::new();
    let names: Vec<String> = headers.iter().map(|h| h.trim().to_lowercase()).collect();
    if names.iter().all(|n| n.is_empty()) {
        return Err(vec![err(1, "", "empty_file")]);
    }
    for n in &names {
        if !known.contains(&n.as_str()) {
            errors.push(err(1, n, "unknown_column"));
        }
    }
    for r in required {
        if !names.iter().any(|n| n == r) {
            errors.push(err(1, r, "missing_column"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for n in &names {
        if !seen.insert(n) {
            errors.push(err(1, n, "duplicate_column"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        match rec {
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(err(line, "", "invalid_format"));
            }
            Ok(rec) => {
                let line = rec.position().map(|p| p.line()).unwrap_or(0);
                if rec.iter().all(|f| f.is_empty()) {
                    continue;
                }
                if rec.len() != names.len() {
                    errors.push(err(line, "", "wrong_field_count"));
                    continue;
                }
                let map = names
                    .iter()
                    .cloned()
                    .zip(rec.iter().map(|f| unneutralise(f).to_string()))
                    .collect();
                rows.push((line, map));
            }
        }
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(err(1, "", "empty_file"));
    }
    if errors.is_empty() {
        Ok(CsvRows { rows })
    } else {
        Err(errors)
    }
}

fn field_errors(line: u64, errs: Vec<FieldError>) -> impl Iterator<Item = RowError> {
    errs.into_iter().map(move |e| RowError {
        line,
        column: e.field,
        reason: e.reason.code().to_string(),
    })
}

fn col<'a>(m: &'a HashMap<String, String>, k: &str) -> &'a str {
    m.get(k).map(String::as_str).unwrap_or("")
}

/// A cell a spreadsheet would take for a formula (`=HYPERLINK(…)`, `@cmd`, `+1+1`, a tab)
/// gets a leading apostrophe, which spreadsheets show as text; numbers (`-1.5`) stay as
/// they are. [`read_csv`] takes the apostrophe off again, so an export imports back as it was.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err();
    if risky {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// The cell as it was before [`neutralise`].
fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// Writes rows as CSV text with the given header, every cell [`neutralise`]d.
pub fn write_csv(
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<String, StoreError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| StoreError::Config(format!("CSV writing failed: {e}"));
    w.write_record(header).map_err(fail)?;
    for r in rows {
        w.write_record(r.iter().map(|c| neutralise(c).into_owned()))
            .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| StoreError::Config(format!("CSV writing failed: {e}")))?;
    String::from_utf8(bytes).map_err(|e| StoreError::Config(format!("CSV writing failed: {e}")))
}

fn opt_num(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

impl Store {
    /// Imports a region CSV file (columns [`REGION_COLUMNS`]); `None` as actor means a trusted
    /// internal caller (demo data).
    pub async fn import_regions(
        &self,
        actor: Option<&Actor>,
        bytes: &[u8],
    ) -> Result<ImportSummary, StoreError> {
        let file = read_csv(bytes, &REGION_COLUMNS, &["code", "name", "level"])
            .map_err(StoreError::Csv)?;
        // Existing regions: code → (path, level, parent).
        let existing: Vec<(String, String, String, Option<String>)> = on_read!(self, |p| {
            sqlx::query_as("SELECT code, path, level, parent_code FROM regions")
                .fetch_all(p)
                .await?
        });
        let mut known: HashMap<String, (String, String, Option<String>)> = existing
            .into_iter()
            .map(|(c, p, l, pc)| (c, (p, l, pc)))
            .collect();
        let mut errors = Vec::new();
        let mut in_file = std::collections::HashSet::new();
        let mut plan = Vec::new();
        for (line, m) in &file.rows {
            let line = *line;
            let mut errs = Vec::new();
            let code =
                bazaar_domain::error::take(&mut errs, RegionCode::parse("code", col(m, "code")));
            let name = bazaar_domain::error::take(
                &mut errs,
                bazaar_domain::error::required_text("name", col(m, "name"), 80),
            );
            let name_en = bazaar_domain::error::take(
                &mut errs,
                bazaar_domain::error::optional_text("name_en", col(m, "name_en"), 120),
            );
            let level =
                bazaar_domain::error::take(&mut errs, RegionLevel::parse("level", col(m, "level")));
            let parent = if col(m, "parent_code").is_empty() {
                Some(None)
            } else {
                bazaar_domain::error::take(
                    &mut errs,
                    RegionCode::parse("parent_code", col(m, "parent_code")).map(Some),
                )
            };
            let loc = bazaar_domain::error::take(
                &mut errs,
                LatLng::parse_opt(col(m, "lat"), col(m, "lng")),
            );
            let zone = match Zone::parse(col(m, "timezone")) {
                Some(z) => Some(z),
                None => {
                    errs.push(FieldError::new("timezone", Reason::UnknownChoice));
                    None
                }
            };
            let (
                Some(code),
                Some(name),
                Some(name_en),
                Some(level),
                Some(parent_code),
                Some(location),
                Some(zone),
            ) = (code, name, name_en, level, parent, loc, zone)
            else {
                errors.extend(field_errors(line, errs));
                continue;
            };
            let r = NewRegion {
                code,
                name,
                name_en,
                level,
                parent_code,
                location,
                zone,
            };
            if let Err(e) = r.check() {
                errors.extend(field_errors(line, vec![e]));
                continue;
            }
            let code_s = r.code.as_str().to_string();
            if !in_file.insert(code_s.clone()) {
                errors.extend(field_errors(
                    line,
                    vec![FieldError::new("code", Reason::Duplicate)],
                ));
                continue;
            }
            let parent_path = match &r.parent_code {
                None => Some(String::from("/")),
                Some(pc) => match known.get(pc.as_str()) {
                    Some((path, plevel, _))
                        if RegionLevel::parse("level", plevel)
                            .ok()
                            .and_then(RegionLevel::child)
                            == Some(r.level) =>
                    {
                        Some(path.clone())
                    }
                    Some(_) => {
                        errors.extend(field_errors(
                            line,
                            vec![FieldError::new("parent_code", Reason::Inconsistent)],
                        ));
                        None
                    }
                    None => {
                        errors.extend(field_errors(
                            line,
                            vec![FieldError::new("parent_code", Reason::UnknownReference)],
                        ));
                        None
                    }
                },
            };
            let Some(parent_path) = parent_path else {
                continue;
            };
            let path = format!("{parent_path}{code_s}/");
            let exists = known.get(&code_s).cloned();
            if let Some((old_path, old_level, _)) = &exists
                && (old_path != &path || old_level != r.level.as_str())
            {
                errors.extend(field_errors(
                    line,
                    vec![FieldError::new("parent_code", Reason::Inconsistent)],
                ));
                continue;
            }
            let scope_ok = match actor {
                None => true,
                Some(a) => a.can_manage_network(&path),
            };
            if !scope_ok {
                errors.push(RowError {
                    line,
                    column: "code".into(),
                    reason: "out_of_scope".into(),
                });
                continue;
            }
            known.insert(
                code_s.clone(),
                (
                    path.clone(),
                    r.level.as_str().to_string(),
                    r.parent_code.as_ref().map(|p| p.as_str().to_string()),
                ),
            );
            plan.push((r, path, exists.is_some()));
        }
        if !errors.is_empty() {
            return Err(StoreError::Csv(errors));
        }
        let now = now_ms();
        let mut summary = ImportSummary {
            created: 0,
            updated: 0,
        };
        for (_, _, existed) in &plan {
            if *existed {
                summary.updated += 1;
            } else {
                summary.created += 1;
            }
        }
        in_tx!(self, |c| {
            for (r, path, _) in &plan {
                sqlx::query(
                    "INSERT INTO regions (code, name, name_en, level, parent_code, path, lat, lng, \
                     timezone, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, \
                     lat = excluded.lat, lng = excluded.lng, timezone = excluded.timezone",
                )
                .bind(r.code.as_str())
                .bind(&r.name)
                .bind(&r.name_en)
                .bind(r.level.as_str())
                .bind(r.parent_code.as_ref().map(|p| p.as_str()))
                .bind(path)
                .bind(r.location.map(|l| l.lat))
                .bind(r.location.map(|l| l.lng))
                .bind(r.zone.name())
                .bind(now)
                .execute(&mut *c)
                .await?;
            }
            Ok(())
        })?;
        Ok(summary)
    }

    /// Imports a node CSV file (columns [`NODE_COLUMNS`]); `None` as actor means a trusted
    /// internal caller.
    pub async fn import_nodes(
        &self,
        actor: Option<&Actor>,
        bytes: &[u8],
    ) -> Result<ImportSummary, StoreError> {
        let file = read_csv(
            bytes,
            &NODE_COLUMNS,
            &["code", "name", "kind", "region_code"],
        )
        .map_err(StoreError::Csv)?;
        let regions: HashMap<String, String> = on_read!(self, |p| {
            sqlx::query_as::<_, (String, String)>("SELECT code, path FROM regions")
                .fetch_all(p)
                .await?
        })
        .into_iter()
        .collect();
        let mut nodes: std::collections::HashSet<String> = on_read!(self, |p| {
            sqlx::query_scalar::<_, String>("SELECT code FROM nodes")
                .fetch_all(p)
                .await?
        })
        .into_iter()
        .collect();
        let existing = nodes.clone();
        let mut errors = Vec::new();
        let mut in_file = std::collections::HashSet::new();
        let mut plan = Vec::new();
        for (line, m) in &file.rows {
            let line = *line;
            let input = NodeInput {
                code: col(m, "code").into(),
                name: col(m, "name").into(),
                kind: col(m, "kind").into(),
                region_code: col(m, "region_code").into(),
                parent_code: col(m, "parent_code").into(),
                lat: col(m, "lat").into(),
                lng: col(m, "lng").into(),
                opens: col(m, "opens").into(),
                closes: col(m, "closes").into(),
                contact_name: col(m, "contact_name").into(),
                contact_phone: col(m, "contact_phone").into(),
                address: col(m, "address").into(),
                lang: col(m, "lang").into(),
            };
            let n = match input.parse() {
                Ok(n) => n,
                Err(errs) => {
                    errors.extend(field_errors(line, errs));
                    continue;
                }
            };
            let mut bad = Vec::new();
            if !in_file.insert(n.code.clone()) {
                bad.push(FieldError::new("code", Reason::Duplicate));
            }
            let path = regions.get(&n.region_code);
            if path.is_none() {
                bad.push(FieldError::new("region_code", Reason::UnknownReference));
            }
            if let Some(p) = &n.parent_code
                && (!nodes.contains(p) || p == &n.code)
            {
                bad.push(FieldError::new("parent_code", Reason::UnknownReference));
            }
            if !bad.is_empty() {
                errors.extend(field_errors(line, bad));
                continue;
            }
            if let (Some(a), Some(path)) = (actor, path)
                && !a.can_manage_network(path)
            {
                errors.push(RowError {
                    line,
                    column: "region_code".into(),
                    reason: "out_of_scope".into(),
                });
                continue;
            }
            nodes.insert(n.code.clone());
            plan.push(n);
        }
        if !errors.is_empty() {
            return Err(StoreError::Csv(errors));
        }
        let now = now_ms();
        let mut summary = ImportSummary {
            created: 0,
            updated: 0,
        };
        in_tx!(self, |c| {
            for n in &plan {
                if existing.contains(&n.code) {
                    summary.updated += 1;
                    let params = vec![
                        Param::S(n.name.clone()),
                        Param::S(n.kind.as_str().into()),
                        Param::S(n.region_code.clone()),
                        Param::OS(n.parent_code.clone()),
                        Param::OF(n.location.map(|l| l.lat)),
                        Param::OF(n.location.map(|l| l.lng)),
                        Param::OS(n.hours.map(|h| h.opens.to_hhmm())),
                        Param::OS(n.hours.map(|h| h.closes.to_hhmm())),
                        Param::OS(n.contact_name.clone()),
                        Param::OS(n.contact_phone.clone()),
                        Param::OS(n.address.clone()),
                        Param::I(now),
                        Param::S(n.code.clone()),
                        Param::OS(n.lang.clone()),
                    ];
                    bind_params!(
                        sqlx::query(
                            "UPDATE nodes SET name = $1, kind = $2, region_code = $3, \
                             parent_code = $4, lat = $5, lng = $6, opens = $7, closes = $8, \
                             contact_name = $9, contact_phone = $10, address = $11, \
                             updated_at = $12, lang = $14 WHERE code = $13"
                        ),
                        params
                    )
                    .execute(&mut *c)
                    .await?;
                } else {
                    summary.created += 1;
                    let (sql, params) = insert_node_sql(n, now);
                    bind_params!(sqlx::query(sql), params)
                        .execute(&mut *c)
                        .await?;
                }
            }
            Ok(())
        })?;
        Ok(summary)
    }

    /// Exports the regions inside `actor`'s scope (everything for admins and for `None`).
    pub async fn export_regions(&self, scope_path: Option<&str>) -> Result<String, StoreError> {
        let like = format!("{}%", scope_path.unwrap_or("/"));
        let rows: Vec<crate::network::Region> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT code, name, name_en, level, parent_code, path, lat, lng, timezone \
                 FROM regions WHERE path LIKE $1 ORDER BY path",
            )
            .bind(&like)
            .fetch_all(p)
            .await?
        });
        write_csv(
            &REGION_COLUMNS,
            rows.into_iter().map(|r| {
                vec![
                    r.code,
                    r.name,
                    r.name_en.unwrap_or_default(),
                    r.level,
                    r.parent_code.unwrap_or_default(),
                    opt_num(r.lat),
                    opt_num(r.lng),
                    r.timezone,
                ]
            }),
        )
    }

    /// Exports the nodes inside a region path (everything for `None`), parents before children.
    pub async fn export_nodes(&self, scope_path: Option<&str>) -> Result<String, StoreError> {
        let like = format!("{}%", scope_path.unwrap_or("/"));
        let rows: Vec<crate::network::Node> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT n.code, n.name, n.kind, n.region_code, n.parent_code, n.lat, n.lng, \
                 n.opens, n.closes, n.contact_name, n.contact_phone, n.address, n.lang FROM nodes n \
                 JOIN regions r ON r.code = n.region_code WHERE r.path LIKE $1 ORDER BY n.code",
            )
            .bind(&like)
            .fetch_all(p)
            .await?
        });
        // Parents first, so the file imports back as it is.
        let mut placed = std::collections::HashSet::new();
        let mut ordered = Vec::with_capacity(rows.len());
        let mut pending = rows;
        while !pending.is_empty() {
            let before = pending.len();
            let (ready, rest): (Vec<_>, Vec<_>) = pending
                .into_iter()
                .partition(|n| n.parent_code.as_ref().is_none_or(|p| placed.contains(p)));
            for n in &ready {
                placed.insert(n.code.clone());
            }
            ordered.extend(ready);
            pending = rest;
            if pending.len() == before {
                // Parents outside the scope: they are already in the database.
                ordered.append(&mut pending);
            }
        }
        write_csv(
            &NODE_COLUMNS,
            ordered.into_iter().map(|n| {
                vec![
                    n.code,
                    n.name,
                    n.kind,
                    n.region_code,
                    n.parent_code.unwrap_or_default(),
                    opt_num(n.lat),
                    opt_num(n.lng),
                    n.opens.unwrap_or_default(),
                    n.closes.unwrap_or_default(),
                    n.contact_name.unwrap_or_default(),
                    n.contact_phone.unwrap_or_default(),
                    n.address.unwrap_or_default(),
                    n.lang.unwrap_or_default(),
                ]
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formula_cells_are_neutralised_and_read_back() {
        let csv = write_csv(
            &["code", "name"],
            [
                vec!["=HYPERLINK(\"http://x\")".to_string(), "@cmd".into()],
                vec!["+1+1".into(), "-1.5".into()],
            ]
            .into_iter(),
        )
        .expect("csv");
        assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");
        assert!(csv.contains("'@cmd") && csv.contains("'+1+1") && csv.contains(",-1.5"));
        let rows = read_csv(csv.as_bytes(), &["code", "name"], &[]).expect("read");
        assert_eq!(rows.rows[0].1["code"], "=HYPERLINK(\"http://x\")");
        assert_eq!(rows.rows[1].1["code"], "+1+1");
        assert_eq!(rows.rows[1].1["name"], "-1.5");
    }

    #[test]
    fn header_problems_are_listed() {
        let e = read_csv(
            b"code,nam,level\n",
            &REGION_COLUMNS,
            &["code", "name", "level"],
        )
        .err()
        .expect("bad header");
        let reasons: Vec<_> = e
            .iter()
            .map(|r| (r.column.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [("nam", "unknown_column"), ("name", "missing_column")]
        );
        assert!(read_csv(b"", &REGION_COLUMNS, &["code"]).is_err());
        assert!(read_csv(b"\xff\xfe", &REGION_COLUMNS, &["code"]).is_err());
        let ok = read_csv(
            "\u{feff}code,name,level\n650000,新疆,province\n".as_bytes(),
            &REGION_COLUMNS,
            &["code"],
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(ok.rows.len(), 1);
        assert_eq!(ok.rows[0].0, 2);
    }

    proptest! {
        #[test]
        fn reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = read_csv(&bytes, &NODE_COLUMNS, &["code"]);
        }

        #[test]
        fn reader_never_panics_on_text(s in "(code|name|kind|,|\"|\n|x|1){0,60}") {
            let _ = read_csv(s.as_bytes(), &NODE_COLUMNS, &["code"]);
        }
    }
}
