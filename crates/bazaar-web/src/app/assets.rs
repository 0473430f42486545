//! The pages' style sheet and scripts: files under `static/`, compiled into the binary and
//! served under content-hashed names (`/assets/app.3f9a1c2b7d.css`) with a one-year,
//! immutable cache lifetime, so a phone on a slow link fetches each version once and a new
//! release is picked up at once. The plain name (`/assets/app.css`) still answers, with a
//! short lifetime, for pages a browser kept from an older release.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// One embedded file.
struct Asset {
    /// The plain name, e.g. `app.css`.
    name: &'static str,
    /// The MIME type it is served with.
    mime: &'static str,
    /// The file itself.
    body: &'static [u8],
}

/// Every embedded file.
const FILES: [Asset; 10] = [
    Asset {
        name: "app.css",
        mime: "text/css; charset=utf-8",
        body: include_bytes!("../../static/app.css"),
    },
    Asset {
        name: "scan.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/scan.js"),
    },
    Asset {
        name: "favicon.svg",
        mime: "image/svg+xml",
        body: include_bytes!("../../static/favicon.svg"),
    },
    Asset {
        name: "autosubmit.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/autosubmit.js"),
    },
    Asset {
        name: "live.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/live.js"),
    },
    Asset {
        name: "manage.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/manage.js"),
    },
    Asset {
        name: "region.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/region.js"),
    },
    // Noto Serif Tibetan (SIL Open Font License 1.1, `static/fonts/README.md`), the Tibetan
    // block only: Tibetan pages render on phones without a Tibetan font.
    Asset {
        name: "noto-serif-tibetan.woff2",
        mime: "font/woff2",
        body: include_bytes!("../../static/fonts/noto-serif-tibetan.woff2"),
    },
    // "བོད་ཡིག" in Noto Serif Tibetan as outlines (hb-view, `static/fonts/README.md`).
    Asset {
        name: "bo-label.svg",
        mime: "image/svg+xml",
        body: include_bytes!("../../static/bo-label.svg"),
    },
    Asset {
        name: "cats.svg",
        mime: "image/svg+xml",
        body: include_bytes!("../../static/cats.svg"),
    },
];

/// The hashed name of each file, in the order of [`FILES`].
static HASHED: LazyLock<Vec<String>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|a| {
            let digest = Sha256::digest(a.body);
            let (stem, ext) = a.name.rsplit_once('.').unwrap_or((a.name, ""));
            format!("{stem}.{}.{ext}", hex::encode(&digest[..5]))
        })
        .collect()
});

/// The address of an embedded file under its content-hashed name, for a page to link;
/// `name` is the plain name (`app.css`). An unknown name links the plain address, which
/// answers 404.
pub fn url(name: &str) -> String {
    match FILES.iter().position(|a| a.name == name) {
        Some(i) => format!("/assets/{}", HASHED[i]),
        None => format!("/assets/{name}"),
    }
}

/// `GET /assets/{name}`: an embedded file, by its hashed name (cached for a year) or its
/// plain name (cached for five minutes).
pub async fn serve(Path(name): Path<String>) -> Response {
    let found = FILES.iter().enumerate().find_map(|(i, a)| {
        if HASHED[i] == name {
            Some((a, "public, max-age=31536000, immutable"))
        } else if a.name == name {
            Some((a, "public, max-age=300"))
        } else {
            None
        }
    });
    match found {
        Some((a, cache)) => (
            [
                (header::CONTENT_TYPE, a.mime),
                (header::CACHE_CONTROL, cache),
            ],
            a.body,
        )
            .into_response(),
        None => crate::app::error::ApiError::of(bazaar_domain::ErrorCode::NotFound).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_follow_the_content_and_keep_the_extension() {
        let css = url("app.css");
        assert!(
            css.starts_with("/assets/app.") && css.ends_with(".css"),
            "{css}"
        );
        assert_eq!(css.len(), "/assets/app..css".len() + 10);
        assert_ne!(url("scan.js"), url("autosubmit.js"));
        assert_eq!(url("nothing.js"), "/assets/nothing.js");
    }
}
