//! `actionflow integration init`: a package for one trigger that passes its own checks — a
//! manifest with one secret and one configuration value, code reading both, a guide, a logo and
//! a test of the success path — for a partner to change.

use crate::package::{Package, CODE_FILE, GUIDE_FILE, LOGO_FILE};

/// A 32×32 PNG, a placeholder to replace.
const LOGO: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 32, 0, 0, 0, 32, 8, 2,
    0, 0, 0, 252, 24, 237, 163, 0, 0, 0, 41, 73, 68, 65, 84, 120, 218, 237, 205, 49, 13, 0, 0, 8,
    3, 176, 249, 119, 128, 90, 166, 130, 131, 164, 73, 255, 102, 39, 167, 34, 16, 8, 4, 2, 129, 64,
    32, 16, 8, 190, 4, 5, 76, 52, 96, 91, 83, 140, 125, 71, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66,
    96, 130,
];

/// The scaffold for `trigger` (an id of the catalog) under `slug` and `publisher`; `None` for
/// an unknown trigger.
pub fn scaffold(trigger: &str, slug: &str, publisher: &str) -> Option<Package> {
    let spec = actionflow_runtime::TRIGGERS
        .iter()
        .find(|t| t.id == trigger)?;
    let manifest = serde_json::json!({
        "name": format!("{slug} integration"),
        "slug": slug,
        "version": "0.1.0",
        "publisher": publisher,
        "short_description": "What it does, in one line.",
        "description": "What it does, for whom, and what the tenant needs before installing it.",
        "categories": ["other"],
        "supported_triggers": [trigger],
        "secrets": [{"name": "API_KEY", "label": "API key", "description": "Your service's key.", "required": true}],
        "configuration": [{"name": "GREETING", "label": "Greeting", "description": "Logged on each run.",
                            "required": false, "type": "string", "default_value": "hello"}],
        "dependencies": [],
        "network": {"hosts": ["api.example.com"]},
        "terms_url": "https://example.com/terms",
        "privacy_url": "https://example.com/privacy",
        "support_url": "https://example.com/support"
    });
    let code = [
        "/**".to_owned(),
        format!(" * {slug}: runs on {trigger}. Reads its secret as event.secrets.API_KEY and its"),
        " * configuration as event.configuration.GREETING.".to_owned(),
        " */".to_owned(),
        format!("exports.{} = async (event, api) => {{", spec.handler),
        "  const res = await fetch(\"https://api.example.com/ping\", {".to_owned(),
        "    headers: { authorization: `Bearer ${event.secrets.API_KEY}` },".to_owned(),
        "  });".to_owned(),
        "  console.log(`${event.configuration.GREETING}: ${res.status}`);".to_owned(),
        "};\n".to_owned(),
    ]
    .join("\n");
    let test = serde_json::json!({
        "name": "the service answers",
        // What every trigger's event requires; trim it to what yours sends.
        "event": {
            "user": {"user_id": "auth0|1", "email": "ada@example.com"},
            "client": {"client_id": "app-1", "name": "My app"},
            "message_options": {"recipient": "+15555550100", "text": "Your code is 123456"},
        },
        "secrets": {"API_KEY": "test-key"},
        "configuration": {"GREETING": "hi"},
        "fixtures": [{"request": {"method": "GET", "url": "https://api.example.com/ping"},
                      "response": {"status": 200, "body": {"ok": true}}}],
        "expect": {"status": "completed", "logs": ["hi: 200"]}
    });
    let guide = format!("# {slug}\n\n1. Get an API key from your service.\n2. Install the integration with the secret `API_KEY`.\n3. Bind it to **{trigger}**.\n");
    let mut package = Package::default();
    let pretty = |v: &serde_json::Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    package
        .files
        .insert(crate::manifest::MANIFEST_FILE.to_owned(), pretty(&manifest));
    package
        .files
        .insert(CODE_FILE.to_owned(), code.into_bytes());
    package
        .files
        .insert(GUIDE_FILE.to_owned(), guide.into_bytes());
    package.files.insert(LOGO_FILE.to_owned(), LOGO.to_vec());
    package
        .files
        .insert("tests/success.json".to_owned(), pretty(&test));
    Some(package)
}
