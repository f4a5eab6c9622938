//! `actionflow marketplace …`: the catalog and installed copies for tenants (`search`, `show`,
//! `install`, `installed`, `upgrade`, `uninstall`), the review for reviewers (`review`,
//! `approve`, `request-changes`, `reject`), publishers for the admin (`publishers`).

use super::{run, Client, Connection};
use crate::BadInput;
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct MarketplaceArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: MarketplaceCommand,
}

#[derive(clap::Subcommand)]
enum MarketplaceCommand {
    /// Published integrations, filtered.
    Search {
        #[arg(long)]
        trigger: Option<String>,
        #[arg(long)]
        q: Option<String>,
        #[arg(long)]
        category: Option<String>,
    },
    /// One integration: versions, installation guide, the values it needs.
    Show { slug: String },
    /// Install an integration: an action made from its reviewed code, deployed, bound if asked.
    Install {
        slug: String,
        #[arg(long)]
        version: Option<String>,
        /// The action's name (the slug by default).
        #[arg(long)]
        name: Option<String>,
        /// NAME=VALUE, repeated.
        #[arg(long = "secret")]
        secrets: Vec<String>,
        /// NAME=VALUE, repeated.
        #[arg(long = "config")]
        configuration: Vec<String>,
        /// Bind to this trigger once deployed.
        #[arg(long)]
        bind: Option<String>,
        #[arg(long, requires = "bind")]
        position: Option<usize>,
    },
    /// Installed integrations (or one, by id).
    Installed { id: Option<String> },
    /// Upgrade an installed integration and/or change its values (kept values stay).
    Upgrade {
        id: String,
        #[arg(long)]
        version: Option<String>,
        #[arg(long = "secret")]
        secrets: Vec<String>,
        #[arg(long = "config")]
        configuration: Vec<String>,
    },
    /// Unbind an installed integration everywhere and delete it.
    Uninstall { id: String },
    /// Reviewer: the code, the diff and the breaking changes since the previous version.
    Review { id: String },
    /// Reviewer: approve and publish.
    Approve {
        id: String,
        #[arg(long)]
        comment: Option<String>,
        /// The checks' warnings were read (needed when there are some).
        #[arg(long)]
        acknowledge_warnings: bool,
    },
    /// Reviewer: send back with what to change.
    RequestChanges {
        id: String,
        #[arg(long)]
        comment: String,
    },
    /// Reviewer: refuse, saying why.
    Reject {
        id: String,
        #[arg(long)]
        comment: String,
    },
    /// Admin: create a publisher owned by a tenant, or list them.
    Publishers {
        /// Create this publisher (list when absent).
        name: Option<String>,
        #[arg(long, requires = "name")]
        tenant: Option<String>,
    },
}

/// `NAME=VALUE` pairs into a JSON object.
fn pairs(flag: &str, pairs: &[String]) -> anyhow::Result<Value> {
    let mut out = Map::new();
    for pair in pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            BadInput(format!(
                "--{flag} {:?}: expected NAME=VALUE",
                pair.split('=').next().unwrap_or("")
            ))
        })?;
        out.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    Ok(Value::Object(out))
}

fn query(params: &[(&str, Option<String>)]) -> String {
    let mut encoder = form_urlencoded::Serializer::new(String::new());
    for (key, value) in params {
        if let Some(value) = value {
            encoder.append_pair(key, value);
        }
    }
    let text = encoder.finish();
    if text.is_empty() {
        text
    } else {
        format!("?{text}")
    }
}

pub fn main(args: MarketplaceArgs) -> anyhow::Result<ExitCode> {
    use MarketplaceCommand as C;
    let decide = |id: &str, decision: &str, comment: Option<String>, acknowledge: bool| {
        (
            Method::POST,
            format!("/v1/marketplace/submissions/{id}/review"),
            Some(json!({"decision": decision, "comment": comment,
                        "acknowledge_warnings": acknowledge})),
        )
    };
    let (method, path, body) = match args.command {
        C::Search {
            trigger,
            q,
            category,
        } => {
            let query = query(&[("trigger", trigger), ("q", q), ("category", category)]);
            (
                Method::GET,
                format!("/v1/marketplace/integrations{query}"),
                None,
            )
        }
        C::Show { slug } => (
            Method::GET,
            format!("/v1/marketplace/integrations/{slug}"),
            None,
        ),
        C::Install {
            slug,
            version,
            name,
            secrets,
            configuration,
            bind,
            position,
        } => {
            let mut body = json!({
                "integration": slug,
                "secrets": pairs("secret", &secrets)?,
                "configuration": pairs("config", &configuration)?,
            });
            if let Some(version) = version {
                body["version"] = json!(version);
            }
            if let Some(name) = name {
                body["name"] = json!(name);
            }
            if let Some(trigger) = bind {
                body["bind"] = json!({"trigger": trigger, "position": position});
            }
            (
                Method::POST,
                "/v1/integrations/installed".to_owned(),
                Some(body),
            )
        }
        C::Installed { id: None } => (Method::GET, "/v1/integrations/installed".to_owned(), None),
        C::Installed { id: Some(id) } => (
            Method::GET,
            format!("/v1/integrations/installed/{id}"),
            None,
        ),
        C::Upgrade {
            id,
            version,
            secrets,
            configuration,
        } => {
            let mut body = json!({
                "secrets": pairs("secret", &secrets)?,
                "configuration": pairs("config", &configuration)?,
            });
            if let Some(version) = version {
                body["version"] = json!(version);
            }
            (
                Method::PATCH,
                format!("/v1/integrations/installed/{id}"),
                Some(body),
            )
        }
        C::Uninstall { id } => (
            Method::DELETE,
            format!("/v1/integrations/installed/{id}"),
            None,
        ),
        C::Review { id } => (
            Method::GET,
            format!("/v1/marketplace/submissions/{id}/review"),
            None,
        ),
        C::Approve {
            id,
            comment,
            acknowledge_warnings,
        } => decide(&id, "approve", comment, acknowledge_warnings),
        C::RequestChanges { id, comment } => decide(&id, "request_changes", Some(comment), false),
        C::Reject { id, comment } => decide(&id, "reject", Some(comment), false),
        C::Publishers { name: None, .. } => {
            (Method::GET, "/v1/marketplace/publishers".to_owned(), None)
        }
        C::Publishers {
            name: Some(name),
            tenant,
        } => {
            let tenant = tenant.ok_or_else(|| {
                BadInput("--tenant: the tenant that owns the publisher".to_owned())
            })?;
            (
                Method::POST,
                "/v1/marketplace/publishers".to_owned(),
                Some(json!({"name": name, "tenant_id": tenant})),
            )
        }
    };
    let client = Client::new(&args.connection)?;
    run(async move { client.call(method, &path, body).await })
}
