//! Ops behind the web globals and the crypto shim: random UUIDs and bytes, WHATWG URL parsing, hashes.
#![allow(unsafe_code)]

use deno_core::op2;
use deno_error::JsErrorBox;

#[op2]
#[string]
pub(super) fn op_af_random_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[op2(fast)]
pub(super) fn op_af_random_fill(#[buffer] buf: &mut [u8]) {
    rand::fill(buf);
}

fn url_parts(u: &url::Url) -> Vec<String> {
    let search = match u.query() {
        Some(q) if !q.is_empty() => format!("?{q}"),
        _ => String::new(),
    };
    let hash = match u.fragment() {
        Some(f) if !f.is_empty() => format!("#{f}"),
        _ => String::new(),
    };
    let port = u.port().map(|p| p.to_string()).unwrap_or_default();
    let hostname = u.host_str().unwrap_or_default().to_owned();
    let host = if port.is_empty() {
        hostname.clone()
    } else {
        format!("{hostname}:{port}")
    };
    vec![
        u.as_str().to_owned(),
        format!("{}:", u.scheme()),
        u.username().to_owned(),
        u.password().unwrap_or_default().to_owned(),
        hostname,
        port,
        u.path().to_owned(),
        search,
        hash,
        u.origin().ascii_serialization(),
        host,
    ]
}

#[op2]
#[serde]
pub(super) fn op_af_url_parse(
    #[string] href: &str,
    #[string] base: Option<String>,
) -> Result<Vec<String>, JsErrorBox> {
    let parsed = match base {
        Some(base) => url::Url::parse(&base).and_then(|b| b.join(href)),
        None => url::Url::parse(href),
    };
    parsed
        .map(|u| url_parts(&u))
        .map_err(|_| JsErrorBox::type_error(format!("Invalid URL: '{href}'")))
}

#[op2]
#[serde]
pub(super) fn op_af_url_set(
    #[string] href: &str,
    #[string] part: &str,
    #[string] value: &str,
) -> Result<Vec<String>, JsErrorBox> {
    let mut u = url::Url::parse(href)
        .map_err(|_| JsErrorBox::type_error(format!("Invalid URL: '{href}'")))?;
    let v = value;
    let _ = match part {
        "href" => {
            u = url::Url::parse(v)
                .map_err(|_| JsErrorBox::type_error(format!("Invalid URL: '{v}'")))?;
            Ok(())
        }
        "protocol" => u.set_scheme(v.trim_end_matches(':')),
        "username" => u.set_username(v),
        "password" => u.set_password(Some(v).filter(|p| !p.is_empty())),
        "hostname" | "host" => u.set_host(Some(v)).map_err(|_| ()),
        "port" => u.set_port(v.parse().ok()),
        "pathname" => {
            u.set_path(v);
            Ok(())
        }
        "search" => {
            u.set_query(Some(v.trim_start_matches('?')).filter(|q| !q.is_empty()));
            Ok(())
        }
        "hash" => {
            u.set_fragment(Some(v.trim_start_matches('#')).filter(|f| !f.is_empty()));
            Ok(())
        }
        _ => Err(()),
    };
    Ok(url_parts(&u))
}
