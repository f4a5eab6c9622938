//! The search query of `GET /v1/logs?q=`: `field:value` terms, implicitly AND-ed (or with `AND`),
//! groups separated by `OR` (`type:f OR type:fp`, `type:s AND user_id:"auth0|1"`). Values may be
//! double-quoted to hold spaces.

use actionflow_store::{LogField, LogQuery};

use crate::{Error, Result};

/// Terms in one query.
pub const TERMS_MAX: usize = 20;

fn field(name: &str) -> Option<LogField> {
    Some(match name {
        "type" => LogField::Type,
        "user_id" => LogField::UserId,
        "user_name" => LogField::UserName,
        "client_id" => LogField::ClientId,
        "connection" => LogField::Connection,
        "ip" => LogField::Ip,
        "strategy" => LogField::Strategy,
        _ => return None,
    })
}

/// Splits into words, keeping a double-quoted stretch (quotes removed) inside its word.
fn words(q: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for ch in q.chars() {
        match ch {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if quoted {
        return Err(Error::invalid("q", "a quote is not closed"));
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

/// Parses `q`; an empty query matches every event.
pub fn parse(q: &str) -> Result<LogQuery> {
    let mut query = LogQuery::default();
    let mut group = Vec::new();
    let mut terms = 0;
    for word in words(q)? {
        match word.as_str() {
            "OR" => {
                if group.is_empty() {
                    return Err(Error::invalid("q", "OR needs a term on each side"));
                }
                query.any_of.push(std::mem::take(&mut group));
            }
            "AND" => {}
            term => {
                let (name, value) = term
                    .split_once(':')
                    .ok_or_else(|| Error::invalid("q", format!("{term:?} is not field:value")))?;
                let field = field(name).ok_or_else(|| {
                    Error::invalid(
                        "q",
                        format!("unknown field {name:?} (type, user_id, user_name, client_id, connection, ip, strategy)"),
                    )
                })?;
                if value.is_empty() {
                    return Err(Error::invalid("q", format!("{name}: needs a value")));
                }
                terms += 1;
                if terms > TERMS_MAX {
                    return Err(Error::invalid("q", format!("at most {TERMS_MAX} terms")));
                }
                group.push((field, value.to_owned()));
            }
        }
    }
    if group.is_empty() && !query.any_of.is_empty() {
        return Err(Error::invalid("q", "OR needs a term on each side"));
    }
    if !group.is_empty() {
        query.any_of.push(group);
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn or_groups_and_quoted_values() {
        let q = parse("type:f OR type:fp").unwrap_or_default();
        assert_eq!(
            q.any_of,
            vec![
                vec![(LogField::Type, "f".into())],
                vec![(LogField::Type, "fp".into())]
            ]
        );
        let q = parse(r#"type:s AND user_name:"Jane Doe" ip:1.2.3.4"#).unwrap_or_default();
        assert_eq!(q.any_of[0].len(), 3);
        assert_eq!(q.any_of[0][1], (LogField::UserName, "Jane Doe".into()));
        assert_eq!(parse("  ").map(|q| q.any_of.len()).ok(), Some(0));
        for bad in [
            "type:f OR",
            "OR type:f",
            "password:x",
            "type:",
            "just-a-word",
            "type:\"open",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
