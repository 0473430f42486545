//! The region tree and the service network: reads and single-record writes. Bulk writes come
//! through [`crate::db::csvio`].

use crate::db::page::{KeyCursor, Param, page_size};
use crate::{Store, StoreError, bind_params, in_tx, on_read};
use bazaar_domain::network::{NodeKind, OpeningHours, parse_node_code};
use bazaar_domain::people::Actor;
use bazaar_domain::region::{LatLng, RegionLevel};
use bazaar_domain::text::parse_phone;
use bazaar_domain::{FieldError, Reason};
use serde::Serialize;

/// A region as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Region {
    /// Official code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// province, prefecture, county, township or village.
    pub level: String,
    /// Parent region.
    pub parent_code: Option<String>,
    /// Codes from the root, `/650000/652800/652829/`.
    pub path: String,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lng: Option<f64>,
    /// IANA zone its times are shown in.
    pub timezone: String,
}

/// A county with the number of its listed products: one pavilion (地方馆) of the storefront.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Pavilion {
    /// County code.
    pub code: String,
    /// County name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Prefecture name.
    pub prefecture: String,
    /// Listed products.
    pub products: i64,
    /// The storage key of one of its products' photos, for its card.
    #[serde(skip)]
    pub photo: Option<String>,
    /// A category of its products, for its card's drawing when it has no photo.
    pub category: String,
}

/// A network node as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Node {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind (see `NodeKind`).
    pub kind: String,
    /// Region it sits in.
    pub region_code: String,
    /// Node it reports to.
    pub parent_code: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lng: Option<f64>,
    /// Opens at `HH:MM`.
    pub opens: Option<String>,
    /// Closes at `HH:MM`.
    pub closes: Option<String>,
    /// Contact person.
    pub contact_name: Option<String>,
    /// Contact phone (masked for callers outside the node's region).
    pub contact_phone: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// The language its villagers read (`ug`, …), when set: messages to recipients
    /// reached by phone only are written in it.
    pub lang: Option<String>,
}

/// A validated node.
#[derive(Debug, Clone)]
pub struct NewNode {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: NodeKind,
    /// Region.
    pub region_code: String,
    /// Parent node.
    pub parent_code: Option<String>,
    /// Where.
    pub location: Option<LatLng>,
    /// Opening hours.
    pub hours: Option<OpeningHours>,
    /// Contact person.
    pub contact_name: Option<String>,
    /// Contact phone.
    pub contact_phone: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// The language its villagers read (`ug`, …): messages to a recipient reached by phone
    /// only are written in it. `None`: Chinese.
    pub lang: Option<String>,
}

/// Raw node fields (form, JSON, CSV row).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct NodeInput {
    /// Code (letters, digits, `-`, `_`).
    #[serde(default)]
    pub code: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Region code.
    #[serde(default)]
    pub region_code: String,
    /// Parent node code.
    #[serde(default)]
    pub parent_code: String,
    /// Latitude.
    #[serde(default)]
    pub lat: String,
    /// Longitude.
    #[serde(default)]
    pub lng: String,
    /// Opens `HH:MM`.
    #[serde(default)]
    pub opens: String,
    /// Closes `HH:MM`.
    #[serde(default)]
    pub closes: String,
    /// Contact person.
    #[serde(default)]
    pub contact_name: String,
    /// Contact phone.
    #[serde(default)]
    pub contact_phone: String,
    /// Address.
    #[serde(default)]
    pub address: String,
    /// The language its villagers read: `zh-CN`, `en`, `ug` or `bo` (empty: Chinese).
    /// Messages to recipients reached by phone only are written in it.
    #[serde(default)]
    pub lang: String,
}

impl NodeInput {
    /// Parses every field that needs no database; every error is returned.
    pub fn parse(&self) -> Result<NewNode, Vec<FieldError>> {
        use bazaar_domain::error::{optional_text, required_text, take};
        let mut errs = Vec::new();
        let code = take(&mut errs, parse_node_code("code", &self.code));
        let name = take(&mut errs, required_text("name", &self.name, 80));
        let kind = take(&mut errs, NodeKind::parse("kind", &self.kind));
        let region = take(
            &mut errs,
            bazaar_domain::region::RegionCode::parse("region_code", &self.region_code),
        );
        let parent = if self.parent_code.trim().is_empty() {
            Some(None)
        } else {
            take(
                &mut errs,
                parse_node_code("parent_code", &self.parent_code).map(Some),
            )
        };
        let location = take(&mut errs, LatLng::parse_opt(&self.lat, &self.lng));
        let hours = take(
            &mut errs,
            OpeningHours::parse_opt(&self.opens, &self.closes),
        );
        let contact_name = take(
            &mut errs,
            optional_text("contact_name", &self.contact_name, 40),
        );
        let phone = take(&mut errs, parse_phone("contact_phone", &self.contact_phone));
        let address = take(&mut errs, optional_text("address", &self.address, 200));
        let lang = take(
            &mut errs,
            bazaar_domain::text::parse_language("lang", &self.lang),
        );
        match (
            code,
            name,
            kind,
            region,
            parent,
            location,
            hours,
            contact_name,
            phone,
            address,
            lang,
        ) {
            (
                Some(code),
                Some(name),
                Some(kind),
                Some(region),
                Some(parent_code),
                Some(location),
                Some(hours),
                Some(contact_name),
                Some(contact_phone),
                Some(address),
                Some(lang),
            ) if errs.is_empty() => Ok(NewNode {
                code,
                name,
                kind,
                region_code: region.as_str().to_string(),
                parent_code,
                location,
                hours,
                contact_name,
                contact_phone,
                address,
                lang: lang.map(str::to_string),
            }),
            _ => Err(errs),
        }
    }
}

const REGION_COLS: &str = "code, name, name_en, level, parent_code, path, lat, lng, timezone";
pub(crate) const NODE_COLS: &str = "code, name, kind, region_code, parent_code, lat, lng, opens, closes, \
                         contact_name, contact_phone, address, lang";

/// Filters for listing nodes.
#[derive(Debug, Clone, Default)]
pub struct NodeFilter {
    /// Only nodes inside this region's subtree.
    pub region_code: Option<String>,
    /// Only this kind.
    pub kind: Option<NodeKind>,
    /// Page start.
    pub cursor: KeyCursor,
    /// Page size.
    pub limit: Option<i64>,
}

/// China's provinces, prefectures and counties with their official codes: the 2023
/// 统计用区划代码 of the National Bureau of Statistics, from `modood/Administrative-divisions-of-China`
/// (WTFPL; `data/README.md` says how the file was made).
const NATIONAL: &str = include_str!("../../data/regions-cn.csv");

impl Store {
    /// Adds every province, prefecture and county of China missing from the tree, so a buyer
    /// anywhere can give an address; regions already there are left as they are (their names,
    /// places and children). Returns how many were added: none once done, so it runs at every
    /// start.
    pub async fn load_national_regions(&self) -> Result<usize, StoreError> {
        let existing: Vec<(String, String)> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT code, path FROM regions WHERE level IN ('province', 'prefecture', 'county')",
            )
            .fetch_all(p)
            .await?
        });
        let mut paths: std::collections::HashMap<String, String> = existing.into_iter().collect();
        // The file is sorted by code, so a parent comes before its children. Each row:
        // code, name, English name, level, parent, time zone (its path beside it).
        let mut rows: Vec<[&'static str; 6]> = Vec::new();
        let mut new_paths: Vec<String> = Vec::new();
        for line in NATIONAL.lines().skip(1) {
            let f: Vec<&'static str> = line.split(',').collect();
            let [code, name, name_en, level, parent, _, _, zone] = f.as_slice() else {
                continue;
            };
            if paths.contains_key(*code) {
                continue;
            }
            let path = match *parent {
                "" => format!("/{code}/"),
                p => match paths.get(p) {
                    Some(pp) => format!("{pp}{code}/"),
                    None => continue,
                },
            };
            paths.insert(code.to_string(), path.clone());
            new_paths.push(path);
            rows.push([code, name, name_en, level, parent, zone]);
        }
        let now = bazaar_domain::time::now_ms();
        let added = rows.len();
        in_tx!(self, |c| {
            for (chunk, chunk_paths) in rows.chunks(100).zip(new_paths.chunks(100)) {
                let mut sql = String::from(
                    "INSERT INTO regions (code, name, name_en, level, parent_code, path, timezone, \
                     created_at) VALUES ",
                );
                for (i, _) in chunk.iter().enumerate() {
                    let b = i * 8;
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6,
                        b + 7,
                        b + 8
                    ));
                }
                sql.push_str(" ON CONFLICT DO NOTHING");
                let mut q = sqlx::query(&sql);
                for ([code, name, en, level, parent, zone], path) in chunk.iter().zip(chunk_paths) {
                    q = q
                        .bind(*code)
                        .bind(*name)
                        .bind(Some(*en).filter(|e| !e.is_empty()))
                        .bind(*level)
                        .bind(Some(*parent).filter(|p| !p.is_empty()))
                        .bind(path)
                        .bind(*zone)
                        .bind(now);
                }
                q.execute(&mut *c).await?;
            }
            Ok(())
        })?;
        Ok(added)
    }

    /// One region.
    pub async fn region(&self, code: &str) -> Result<Region, StoreError> {
        let sql = format!("SELECT {REGION_COLS} FROM regions WHERE code = $1");
        let r: Option<Region> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(code).fetch_optional(p).await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// The regions directly under `parent` (or the provinces when `None`), by code.
    pub async fn region_children(&self, parent: Option<&str>) -> Result<Vec<Region>, StoreError> {
        let rows: Vec<Region> = match parent {
            Some(code) => {
                let sql = format!(
                    "SELECT {REGION_COLS} FROM regions WHERE parent_code = $1 ORDER BY code"
                );
                on_read!(self, |p| {
                    sqlx::query_as(&sql).bind(code).fetch_all(p).await?
                })
            }
            None => {
                let sql = format!(
                    "SELECT {REGION_COLS} FROM regions WHERE parent_code IS NULL ORDER BY code"
                );
                on_read!(self, |p| { sqlx::query_as(&sql).fetch_all(p).await? })
            }
        };
        Ok(rows)
    }

    /// The villages inside a region path (all of them for `None`), by code; at most 2,000.
    pub async fn villages_within(&self, path: Option<&str>) -> Result<Vec<Region>, StoreError> {
        let sql = format!(
            "SELECT {REGION_COLS} FROM regions WHERE level = 'village' AND path LIKE $1 \
             ORDER BY code LIMIT 2000"
        );
        let like = format!("{}%", path.unwrap_or("/"));
        Ok(on_read!(self, |p| {
            sqlx::query_as(&sql).bind(&like).fetch_all(p).await?
        }))
    }

    /// Every region of one level, by code.
    pub async fn regions_at(&self, level: RegionLevel) -> Result<Vec<Region>, StoreError> {
        let sql = format!("SELECT {REGION_COLS} FROM regions WHERE level = $1 ORDER BY code");
        Ok(on_read!(self, |p| {
            sqlx::query_as(&sql)
                .bind(level.as_str())
                .fetch_all(p)
                .await?
        }))
    }

    /// The ancestors of a region path, from the root, as (code, name) pairs.
    pub async fn region_trail(&self, path: &str) -> Result<Vec<Region>, StoreError> {
        let mut out = Vec::new();
        for code in path.split('/').filter(|s| !s.is_empty()) {
            out.push(self.region(code).await?);
        }
        Ok(out)
    }

    /// Every county with listed products, with their counts: the storefront's pavilions.
    pub async fn pavilions(&self) -> Result<Vec<Pavilion>, StoreError> {
        // Joins down the tree (county → township → village) rather than matching region paths
        // with LIKE per county: 30× faster on PostgreSQL (docs/BENCHMARKS.md).
        let sql = "SELECT c.code, c.name, c.name_en, pf.name AS prefecture, \
                   COUNT(DISTINCT p.id) AS products, MIN(ph.storage_key) AS photo, \
                   MIN(p.category) AS category \
                   FROM regions c JOIN regions pf ON pf.code = c.parent_code \
                   JOIN regions t ON t.parent_code = c.code \
                   JOIN regions v ON v.parent_code = t.code \
                   JOIN products p ON p.village_code = v.code AND p.status = 'listed' \
                   LEFT JOIN product_photos ph ON ph.product_id = p.id \
                   WHERE c.level = 'county' \
                   GROUP BY c.code, c.name, c.name_en, pf.name ORDER BY c.code";
        let rows: Vec<Pavilion> = on_read!(self, |p| { sqlx::query_as(sql).fetch_all(p).await? });
        Ok(rows.into_iter().filter(|p| p.products > 0).collect())
    }

    /// One node.
    pub async fn node(&self, code: &str) -> Result<Node, StoreError> {
        let sql = format!("SELECT {NODE_COLS} FROM nodes WHERE code = $1");
        let r: Option<Node> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(code).fetch_optional(p).await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// A node and the path of its region (what scope checks compare), in one query.
    pub async fn node_with_path(&self, code: &str) -> Result<(Node, String), StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            node: Node,
            path: String,
        }
        let cols = NODE_COLS
            .split(", ")
            .map(|c| format!("n.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols}, r.path FROM nodes n JOIN regions r ON r.code = n.region_code \
             WHERE n.code = $1"
        );
        let r: Option<Row> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(code).fetch_optional(p).await?
        });
        r.map(|r| (r.node, r.path)).ok_or(StoreError::NotFound)
    }

    /// Nodes by code, filtered, one page at a time.
    pub async fn nodes(
        &self,
        f: &NodeFilter,
    ) -> Result<(Vec<Node>, Option<KeyCursor>), StoreError> {
        let limit = page_size(f.limit);
        let cols = NODE_COLS
            .split(", ")
            .map(|c| format!("n.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut sql = format!(
            "SELECT {cols} FROM nodes n JOIN regions r ON r.code = n.region_code WHERE n.code > $1"
        );
        let mut params = vec![Param::S(f.cursor.0.clone())];
        if let Some(rc) = &f.region_code {
            let region = self.region(rc).await?;
            params.push(Param::S(format!("{}%", region.path)));
            sql.push_str(&format!(" AND r.path LIKE ${}", params.len()));
        }
        if let Some(k) = f.kind {
            params.push(Param::S(k.as_str().to_string()));
            sql.push_str(&format!(" AND n.kind = ${}", params.len()));
        }
        params.push(Param::I(limit + 1));
        sql.push_str(&format!(" ORDER BY n.code LIMIT ${}", params.len()));
        let mut rows: Vec<Node> = on_read!(self, |p| {
            bind_params!(sqlx::query_as(&sql), params)
                .fetch_all(p)
                .await?
        });
        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|n| KeyCursor(n.code.clone()))
        } else {
            None
        };
        Ok((rows, next))
    }

    /// Every node inside a region's subtree, by code, at most `max` (a form's pickers read a
    /// county's network whole: a few hundred nodes).
    pub async fn nodes_in(&self, region_code: &str, max: usize) -> Result<Vec<Node>, StoreError> {
        let mut out = Vec::new();
        let mut cursor = KeyCursor::default();
        loop {
            let f = NodeFilter {
                region_code: Some(region_code.to_string()),
                kind: None,
                cursor,
                limit: Some(100),
            };
            let (page, next) = self.nodes(&f).await?;
            out.extend(page);
            match next {
                Some(c) if out.len() < max => cursor = c,
                _ => break,
            }
        }
        out.truncate(max);
        Ok(out)
    }

    /// Creates one node, checking the caller may change the network where it sits.
    pub async fn create_node(&self, actor: &Actor, input: &NodeInput) -> Result<Node, StoreError> {
        let n = input.parse().map_err(StoreError::Invalid)?;
        let region = self
            .region(&n.region_code)
            .await
            .map_err(|_| StoreError::field("region_code", Reason::UnknownReference))?;
        if !actor.can_manage_network(&region.path) {
            return Err(StoreError::Forbidden);
        }
        let now = bazaar_domain::time::now_ms();
        in_tx!(self, |c| {
            if let Some(parent) = &n.parent_code {
                let found: Option<String> =
                    sqlx::query_scalar("SELECT code FROM nodes WHERE code = $1")
                        .bind(parent)
                        .fetch_optional(&mut *c)
                        .await?;
                if found.is_none() {
                    return Err(StoreError::field("parent_code", Reason::UnknownReference));
                }
            }
            let r = insert_node_sql(&n, now);
            let res = bind_params!(sqlx::query(r.0), r.1).execute(&mut *c).await;
            match res {
                Err(e) if StoreError::is_unique_violation(&e) => {
                    Err(StoreError::field("code", Reason::Duplicate))
                }
                Err(e) => Err(e.into()),
                Ok(_) => Ok(()),
            }
        })?;
        self.node(&n.code).await
    }
}

/// The INSERT of one node, with its parameters.
pub(crate) fn insert_node_sql(n: &NewNode, now: i64) -> (&'static str, Vec<Param>) {
    let params = vec![
        Param::S(n.code.clone()),
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
        Param::OS(n.lang.clone()),
    ];
    let sql = "INSERT INTO nodes (code, name, kind, region_code, parent_code, lat, lng, opens, \
               closes, contact_name, contact_phone, address, created_at, updated_at, lang) VALUES \
               ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14)";
    (sql, params)
}
