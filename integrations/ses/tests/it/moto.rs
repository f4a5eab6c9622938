//! A real SES v2-compatible server for the tests: moto's server mode (PyPI `moto[server]`,
//! `python3 -m moto.server`), started on a port it picks itself (`-p 0`, read back from its output),
//! waited on by polling, killed when dropped. IAM
//! authentication is on, so wrong keys and secrets are refused as SES would refuse them.

use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

/// How moto is started: `ACTIONFLOW_TEST_MOTO_SERVER` (a `moto_server` executable) when set, else
/// `python3 -m moto.server`. `Err` says why moto is not available.
fn command() -> Result<Command, String> {
    if let Some(path) = std::env::var_os("ACTIONFLOW_TEST_MOTO_SERVER") {
        return Ok(Command::new(path));
    }
    static IMPORTABLE: OnceLock<Result<(), String>> = OnceLock::new();
    let importable = IMPORTABLE.get_or_init(|| {
        let probe = Command::new("python3")
            .args(["-c", "import moto.server"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match probe {
            Ok(status) if status.success() => Ok(()),
            Ok(_) => Err("python3 cannot import moto.server".to_owned()),
            Err(e) => Err(format!("python3 cannot be started: {e}")),
        }
    });
    importable.clone()?;
    let mut command = Command::new("python3");
    command.args(["-m", "moto.server"]);
    Ok(command)
}

/// The IAM calls made before authentication starts (see `Moto::start`): two users, their keys, and
/// one policy letting the tenant's user use SES.
const SETUP_REQUESTS: usize = 5;

#[derive(Clone, Debug)]
pub struct Keys {
    pub key: String,
    pub secret: String,
}

pub struct Moto {
    child: Child,
    pub url: String,
    /// Allowed to use SES; the sender identity below is verified with it.
    pub tenant: Keys,
    /// Known to moto but allowed nothing: what the tests put in the host's AWS environment.
    pub host: Keys,
}

pub const SENDER: &str = "welcome@actionflow.test";

impl Drop for Moto {
    fn drop(&mut self) {
        // Killed now; tokio reaps the process.
        let _ = self.child.start_kill();
    }
}

/// When moto is not installed: fails under CI (which installs it), else prints a note and skips.
fn missing(why: &str) -> Option<Moto> {
    if std::env::var_os("CI").is_some() {
        panic!("moto is required in CI ({why}); .ci/run installs it with pip");
    }
    eprintln!("note: SES tests skipped: {why}; install it with `pip install 'moto[server]'`");
    None
}

impl Moto {
    /// A fresh server with a tenant user, a host user and the verified sender [`SENDER`].
    pub async fn start() -> Option<Moto> {
        Self::start_with(true).await
    }

    /// As [`Moto::start`], but accepting any signature. For clients of SES's query API whose form
    /// bodies encode spaces as `%20` (Node's `querystring`, so node-ses): moto 5.2 checks their
    /// SigV4 signature against a body it re-encodes differently and refuses them
    /// (`SignatureDoesNotMatch`), with real Node.js as with Actionflow; AWS accepts them.
    #[allow(dead_code)] // used by the server's suite, not by actionflow-ses's own
    pub async fn start_without_iam() -> Option<Moto> {
        Self::start_with(false).await
    }

    async fn start_with(iam: bool) -> Option<Moto> {
        let command = match command() {
            Ok(command) => command,
            Err(why) => return missing(&why),
        };
        let mut command = tokio::process::Command::from(command);
        command.args(["-H", "127.0.0.1", "-p", "0"]);
        if iam {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", SETUP_REQUESTS.to_string());
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto ({command:?}): {e}"));
        let address = listening_address(&mut child).await;
        let mut moto = Moto {
            child,
            url: format!("http://{address}"),
            tenant: Keys {
                key: String::new(),
                secret: String::new(),
            },
            host: Keys {
                key: String::new(),
                secret: String::new(),
            },
        };
        moto.wait_ready().await;
        moto.host = moto.user("host", false).await;
        moto.tenant = moto.user("tenant", true).await;
        moto.verify(SENDER).await;
        Some(moto)
    }

    /// Makes `address` a verified sender (moto verifies an email identity at once).
    pub async fn verify(&self, address: &str) {
        self.ses(&self.tenant)
            .create_email_identity()
            .email_identity(address)
            .send()
            .await
            .unwrap();
    }

    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("moto exited ({status}) before answering on {}", self.url);
            }
            let probe = http.get(format!("{}/moto-api/", self.url)).send().await;
            if probe.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto did not answer on {} within 60 s", self.url);
    }

    /// Creates an IAM user with one access key (unauthenticated setup calls), allowed SES or nothing.
    async fn user(&self, name: &str, ses_allowed: bool) -> Keys {
        self.iam(&[("Action", "CreateUser"), ("UserName", name)])
            .await;
        let created = self
            .iam(&[("Action", "CreateAccessKey"), ("UserName", name)])
            .await;
        if ses_allowed {
            let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ses:*","Resource":"*"}]}"#;
            self.iam(&[
                ("Action", "PutUserPolicy"),
                ("UserName", name),
                ("PolicyName", "ses"),
                ("PolicyDocument", policy),
            ])
            .await;
        }
        Keys {
            key: xml(&created, "AccessKeyId"),
            secret: xml(&created, "SecretAccessKey"),
        }
    }

    async fn iam(&self, form: &[(&str, &str)]) -> String {
        // moto routes by the credential scope; these setup calls are not authenticated.
        let scope = "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, \
                     SignedHeaders=host, Signature=0";
        let mut form = form.to_vec();
        form.push(("Version", "2010-05-08"));
        let response = reqwest::Client::new()
            .post(&self.url)
            .header("Authorization", scope)
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(status.is_success(), "IAM {form:?}: {status} {body}");
        body
    }

    /// A test-side SES client (used to set up identities, never by the module under test).
    pub fn ses(&self, keys: &Keys) -> aws_sdk_sesv2::Client {
        let config = aws_sdk_sesv2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                &keys.key,
                &keys.secret,
                None,
                None,
                "test",
            ))
            .endpoint_url(&self.url)
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        aws_sdk_sesv2::Client::from_conf(config)
    }

    /// Every email the server accepted: `{ source, destinations, subject, body, id }`.
    pub async fn sent(&self) -> Vec<Value> {
        let url = format!("{}/moto-api/data.json", self.url);
        let data: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        data["ses"]["Message"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// Reads moto's output until it says where it listens (`* Running on http://127.0.0.1:PORT`), then
/// keeps draining it so that its request log never blocks it.
async fn listening_address(child: &mut Child) -> String {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some((_, address)) = line.split_once("Running on http://") {
                return Some(address.trim().to_owned());
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        None
    })
    .await;
    match found {
        Ok(Some(address)) => {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            address
        }
        Ok(None) => panic!("moto exited before listening:\n{seen}"),
        Err(_) => panic!("moto did not listen within 60 s:\n{seen}"),
    }
}

fn xml(body: &str, tag: &str) -> String {
    let start = body.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
    let end = start + body[start..].find(&format!("</{tag}>")).unwrap();
    body[start..end].to_owned()
}
