//! The dashboard's files, served at `/` (the page) and `/assets/…` (its script, styles and images),
//! from the copy of `dashboard/dist/` built into the binary: no CDN, nothing read from disk. The
//! page calls the `/v1` API with its session cookie (see `session.rs`).
//!
//! Every answer carries a strict Content-Security-Policy: scripts from this origin only (no inline
//! script, no `eval`), styles from this origin plus the `<style>` elements the code editor makes,
//! which carry the page's nonce (new for every answer of the page, handed to the editor in a
//! `<meta name="csp-nonce">`), no frames, no plugins, requests to this origin only.

use super::AppState;
use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use rand::RngCore;

/// `dashboard/dist/`, built by `npm run build` in `dashboard/` and committed.
#[derive(rust_embed::Embed)]
#[folder = "../dashboard/dist"]
struct Dist;

/// The policy of every dashboard answer; the page's own adds its nonce to `style-src`.
fn policy(nonce: Option<&str>) -> String {
    let styles = nonce.map_or(String::new(), |n| format!(" 'nonce-{n}'"));
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'{styles}; img-src 'self' data:; \
         font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { page() }))
        // Asset names carry a hash of their content: cached for good.
        .route(
            "/assets/{*path}",
            get(|Path(path): Path<String>| async move {
                file(
                    &format!("assets/{path}"),
                    "public, max-age=31536000, immutable",
                )
            }),
        )
}

/// `index.html` with a fresh nonce for the editor's styles.
fn page() -> Response {
    let Some(file) = Dist::get("index.html") else {
        return super::ApiError::not_found("path", "file").into_response();
    };
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    let nonce = base64::engine::general_purpose::STANDARD.encode(bytes);
    let html = String::from_utf8_lossy(&file.data).replace("%NONCE%", &nonce);
    answer("index.html", "no-store", Some(&nonce), html.into_bytes())
}

fn file(path: &str, cache: &'static str) -> Response {
    let Some(file) = Dist::get(path) else {
        return super::ApiError::not_found("path", "file").into_response();
    };
    answer(path, cache, None, file.data.into_owned())
}

fn answer(path: &str, cache: &'static str, nonce: Option<&str>, body: Vec<u8>) -> Response {
    let policy = HeaderValue::from_str(&policy(nonce))
        .unwrap_or(HeaderValue::from_static("default-src 'none'"));
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static(content_type(path))),
        (CACHE_CONTROL, HeaderValue::from_static(cache)),
        (CONTENT_SECURITY_POLICY, policy),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    ];
    (StatusCode::OK, headers, body).into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_assets_are_built_in() {
        let index = Dist::get("index.html").expect("dashboard/dist/index.html");
        let html = String::from_utf8_lossy(&index.data).into_owned();
        assert!(!html.contains("<script>"), "no inline script: {html}");
        assert!(
            html.contains("%NONCE%"),
            "the page hands the editor its nonce: {html}"
        );
        for asset in html.split('"').filter(|s| s.starts_with("/assets/")) {
            assert!(Dist::get(&asset[1..]).is_some(), "{asset} is not built in");
        }
    }
}
