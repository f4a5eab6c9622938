//! The suite's harness: stores on both backends, a real AES-GCM sealer for stream secrets, a
//! webhook receiver on 127.0.0.1:0 that records what it gets and can be told to fail, and helpers
//! to run a deliverer and wait for deliveries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actionflow_logs::seal::{SecretSeal, SecretSlot};
use actionflow_logs::{DeliverySettings, IncomingEvent, Logs, SigningKey};
use actionflow_store::test_support::Backends;
use actionflow_store::{SealedBytes, SharedStore};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use tokio::sync::watch;

pub const BACKENDS: Backends = Backends {
    database_prefix: "af_logs",
    sqlite_file: "logs.db",
};

/// AES-256-GCM with the slot as associated data, as the binary seals.
pub struct TestSeal(Aes256Gcm);

impl TestSeal {
    pub fn new() -> Arc<TestSeal> {
        Arc::new(TestSeal(Aes256Gcm::new_from_slice(&[7u8; 32]).unwrap()))
    }
}

fn aad(slot: SecretSlot<'_>) -> Vec<u8> {
    format!("{}\0{}\0{}", slot.tenant_id, slot.stream_id, slot.name).into_bytes()
}

impl SecretSeal for TestSeal {
    fn seal(&self, slot: SecretSlot<'_>, clear: &[u8]) -> Option<SealedBytes> {
        let nonce = [slot.name.len() as u8; 12];
        let aad = aad(slot);
        let ciphertext = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: clear,
                    aad: &aad,
                },
            )
            .ok()?;
        Some(SealedBytes {
            ciphertext,
            nonce: nonce.to_vec(),
        })
    }
    fn open(&self, slot: SecretSlot<'_>, sealed: &SealedBytes) -> Option<Vec<u8>> {
        let aad = aad(slot);
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: &aad,
        };
        self.0
            .decrypt(Nonce::from_slice(&sealed.nonce), payload)
            .ok()
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub authorization: Option<String>,
    pub body: Bytes,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    /// The `log_id`s in a JSON-lines body.
    pub fn log_ids(&self) -> Vec<i64> {
        std::str::from_utf8(&self.body)
            .unwrap()
            .lines()
            .map(|line| {
                let record: Value = serde_json::from_str(line).unwrap();
                record["log_id"].as_str().unwrap().parse().unwrap()
            })
            .collect()
    }
    pub fn records(&self) -> Vec<Value> {
        std::str::from_utf8(&self.body)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// What the receiver answers: `fail_next` requests get `fail_status` first.
#[derive(Default)]
pub struct Behaviour {
    pub fail_next: usize,
    pub fail_status: u16,
    pub received: Vec<Received>,
}

#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    pub state: Arc<Mutex<Behaviour>>,
}

impl Webhook {
    pub async fn start() -> Webhook {
        let state = Arc::new(Mutex::new(Behaviour {
            fail_status: 500,
            ..Behaviour::default()
        }));
        let shared = state.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    };
                    let mut state = state.lock().unwrap();
                    let status = if state.fail_next > 0 {
                        state.fail_next -= 1;
                        state.fail_status
                    } else {
                        200
                    };
                    state.received.push(Received {
                        id: header("webhook-id").unwrap_or_default(),
                        timestamp: header("webhook-timestamp")
                            .and_then(|t| t.parse().ok())
                            .unwrap_or_default(),
                        signature: header("webhook-signature").unwrap_or_default(),
                        authorization: header("authorization"),
                        body,
                        status,
                    });
                    (
                        StatusCode::from_u16(status).unwrap(),
                        "nope from the test hook",
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Webhook { url, state }
    }

    pub fn fail_next(&self, count: usize, status: u16) {
        let mut state = self.state.lock().unwrap();
        state.fail_next = count;
        state.fail_status = status;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The `log_id`s of the requests answered 2xx, in arrival order.
    pub fn delivered_ids(&self) -> Vec<i64> {
        self.received()
            .iter()
            .filter(|r| r.status == 200)
            .flat_map(Received::log_ids)
            .collect()
    }

    /// Waits until `check` holds on what arrived (up to 30 s).
    pub async fn wait_for(&self, what: &str, check: impl Fn(&[Received]) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if check(&self.received()) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Fast settings for tests: polls often, backs off in milliseconds, private addresses allowed.
pub fn settings() -> DeliverySettings {
    DeliverySettings {
        poll: Duration::from_millis(30),
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        allow_private: true,
        ..DeliverySettings::default()
    }
}

/// A deliverer running until the returned sender is dropped or set.
pub fn run_deliverer(
    logs: &Logs,
    settings: DeliverySettings,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let deliverer =
        actionflow_logs::Deliverer::new(logs.store().clone(), logs.seal(), settings, logs.wake())
            .unwrap();
    let (stop, stopped) = watch::channel(false);
    (stop, tokio::spawn(deliverer.run(stopped)))
}

pub fn logs(store: &SharedStore) -> Logs {
    Logs::new(store.clone(), TestSeal::new(), true)
}

pub fn ev(code: &str, user: &str) -> IncomingEvent {
    IncomingEvent {
        event_type: code.to_owned(),
        level: code.starts_with("x_").then_some(2),
        user_id: Some(user.to_owned()),
        ..IncomingEvent::default()
    }
}

/// Asserts every request is signed by `secret` over its exact body.
pub fn assert_signed(received: &[Received], secret: &str) {
    let key = SigningKey::from_secret(secret).unwrap();
    for r in received {
        assert!(
            key.verify(&r.id, r.timestamp, &r.body, &r.signature),
            "bad signature on {}",
            r.id
        );
        assert!((chrono::Utc::now().timestamp() - r.timestamp).abs() < 300);
    }
}
