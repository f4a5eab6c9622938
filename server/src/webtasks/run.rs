//! `GET|POST|PUT|PATCH|DELETE /run/{container}/{name}[/more/path]`: anyone may call an extension
//! (its own code, compiler or middleware decides who); the answer is the extension's, passed as it
//! is, with `x-wt-response-source` saying which part answered. The request reaches the extension
//! as it came, but for the dashboard's session cookie.

use super::names;
use crate::error::{ApiError, ErrorBody, PassThrough};
use crate::AppState;
use actionflow_webtasks::{HttpRequest, HttpResponse};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const SOURCE: HeaderName = HeaderName::from_static("x-wt-response-source");

pub fn router() -> OpenApiRouter<AppState> {
    let any = || get(run_any).put(run_any).patch(run_any).delete(run_any);
    OpenApiRouter::new()
        .routes(routes!(run_post))
        .route("/run/{container}/{name}", any())
        // A trailing slash, and more path after the name (a catch-all needs at least a character).
        .route("/run/{container}/{name}/", any().post(run_any))
        .route("/run/{container}/{name}/{*path}", any().post(run_any))
}

/// Run an extension (also GET, PUT, PATCH, DELETE, and with more path after the name). The answer
/// is the extension's own: status, headers and body as its code wrote them.
#[utoipa::path(post, path = "/run/{container}/{name}", tag = "webtasks",
    params(("container" = String, Path), ("name" = String, Path)),
    request_body(content = String, content_type = "application/json",
        description = "Any body: JSON and form bodies are parsed into `ctx.body`"),
    responses((status = 200, description = "The extension's answer"),
        (status = 404, body = ErrorBody, description = "No such extension")))]
async fn run_post(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((container, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    run(
        state,
        method,
        uri,
        headers,
        container,
        name,
        String::new(),
        body,
    )
    .await
}

async fn run_any(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(params): Path<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let rest = get("path");
    let path = if uri.path().ends_with('/') && rest.is_empty() {
        "/".to_owned()
    } else if rest.is_empty() {
        String::new()
    } else {
        format!("/{rest}")
    };
    run(
        state,
        method,
        uri,
        headers,
        get("container"),
        get("name"),
        path,
        body,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn run(
    state: AppState,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    container: String,
    name: String,
    path: String,
    body: Bytes,
) -> Response {
    let proxy = |error: ApiError| {
        let mut response = error.into_response();
        response
            .headers_mut()
            .insert(SOURCE, HeaderValue::from_static("proxy"));
        response
    };
    if let Err(error) = names(&container, &name) {
        return proxy(
            ApiError::not_found("name", "webtask").field(error.field.as_deref().unwrap_or("name")),
        );
    }
    let request = HttpRequest {
        method: method.as_str().to_owned(),
        path,
        query: uri.query().unwrap_or("").to_owned(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| {
                let value = v.to_str().ok()?;
                let value = if k == COOKIE {
                    without_session(value)?
                } else {
                    value.to_owned()
                };
                Some((k.as_str().to_owned(), value))
            })
            .collect(),
        body: body.to_vec(),
        id: actionflow_store::new_id(),
    };
    match state.webtasks.run(&container, &name, request, false).await {
        Ok(answer) => respond(answer),
        Err(error) => proxy(ApiError::from(error)),
    }
}

/// A `Cookie` header without the dashboard's session cookie, which is a credential of this server's
/// API and never the extension's to read (a browser signed in to the dashboard sends it to every
/// path of the origin, `/run/…` too); `None` when nothing else is left.
fn without_session(cookie: &str) -> Option<String> {
    let kept: Vec<&str> = cookie
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !is_the_session(pair))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// Headers the extension may not set: the connection's own.
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "content-length"
            | "transfer-encoding"
            | "keep-alive"
            | "upgrade"
            | "te"
            | "trailer"
            | "proxy-connection"
    )
}

/// The policy every extension answer carries (see `respond`).
const SANDBOX: &str = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads";

/// A `Set-Cookie` for the dashboard's session: an extension may not sign visitors out or in.
fn sets_the_session(name: &str, value: &str) -> bool {
    name.eq_ignore_ascii_case("set-cookie") && is_the_session(value)
}

/// Whether a cookie pair (`name=value`, of a `Cookie` or the start of a `Set-Cookie`) is the
/// dashboard's session.
fn is_the_session(pair: &str) -> bool {
    pair.split_once('=').map_or(pair, |(name, _)| name).trim() == crate::session::SESSION_COOKIE
}

fn respond(answer: HttpResponse) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    headers.remove(axum::http::header::CONTENT_TYPE);
    for (k, v) in answer.headers {
        if hop_by_hop(&k) || sets_the_session(&k, &v) {
            continue;
        }
        // Appended: an extension may set several cookies (each its own `Set-Cookie`).
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            headers.append(k, v);
        }
    }
    // Extensions answer from the dashboard's origin. A page one serves runs sandboxed, in an origin
    // of its own: its scripts run, but cannot read this origin's API with a signed-in visitor's
    // session (nor its CSRF token). Appended, so that a policy of the extension's own adds to it.
    headers.append(
        axum::http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SANDBOX),
    );
    headers.insert(SOURCE, HeaderValue::from_static(answer.source.as_str()));
    response.extensions_mut().insert(PassThrough);
    response
}

#[cfg(test)]
mod tests {
    use super::{respond, without_session, SANDBOX};
    use actionflow_webtasks::{HttpResponse, Source};

    #[test]
    fn an_extension_page_is_sandboxed_and_cannot_set_the_session() {
        let answer = HttpResponse {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/html".into()),
                (
                    "content-security-policy".into(),
                    "default-src 'self'".into(),
                ),
                ("set-cookie".into(), "af_session=forged; Path=/".into()),
            ],
            body: b"<script>fetch('/v1/session')</script>".to_vec(),
            source: Source::Webtask,
        };
        let response = respond(answer);
        let policies: Vec<_> = response
            .headers()
            .get_all("content-security-policy")
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(policies, ["default-src 'self'", SANDBOX]);
        assert!(response.headers().get("set-cookie").is_none());
    }

    #[test]
    fn the_session_cookie_never_reaches_an_extension() {
        assert_eq!(
            without_session("theme=dark; af_session=af_secret; lang=en").as_deref(),
            Some("theme=dark; lang=en")
        );
        assert_eq!(without_session("af_session=af_secret"), None);
        assert_eq!(
            without_session("af_session_x=1").as_deref(),
            Some("af_session_x=1")
        );
    }
}
