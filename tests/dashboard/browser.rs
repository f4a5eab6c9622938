//! A real browser for the dashboard's tests: Debian's headless `chromium` driven through
//! `chromedriver` (WebDriver, with `fantoccini`), and a recording proxy between the browser and the
//! server, so a test can read every request URL and every response body the page received.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::StreamExt;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

/// How long a page may take to show what a step waits for.
const PATIENCE: Duration = Duration::from_secs(30);

/// Where chromedriver is, or `None` (with a note) when it is not installed and `CI` is unset.
pub fn chromedriver() -> Option<&'static str> {
    const PATH: &str = "/usr/bin/chromedriver";
    if std::path::Path::new(PATH).exists() {
        return Some(PATH);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "chromedriver is missing: .ci/run installs chromium and chromium-driver"
    );
    eprintln!(
        "note: skipping the dashboard's browser test: apt-get install chromium chromium-driver"
    );
    None
}

/// Everything the browser sent and received through the proxy.
#[derive(Default)]
pub struct Recorded {
    pub urls: Vec<String>,
    pub bodies: Vec<u8>,
}

/// The proxy: the browser's origin, forwarding to `upstream` and recording.
pub struct Proxy {
    pub url: String,
    pub recorded: Arc<Mutex<Recorded>>,
    serving: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

struct Upstream {
    base: String,
    client: reqwest::Client,
    recorded: Arc<Mutex<Recorded>>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let state = Arc::new(Upstream {
            base: upstream.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            recorded: Arc::clone(&recorded),
        });
        let app = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let serving = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Proxy {
            url,
            recorded,
            serving,
        }
    }

    /// Every response body so far, as text.
    pub fn bodies(&self) -> String {
        String::from_utf8_lossy(&self.recorded.lock().unwrap().bodies).into_owned()
    }

    pub fn urls(&self) -> Vec<String> {
        self.recorded.lock().unwrap().urls.clone()
    }
}

async fn forward(State(up): State<Arc<Upstream>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    up.recorded.lock().unwrap().urls.push(target.to_owned());
    let mut outgoing = up
        .client
        .request(parts.method, format!("{}{target}", up.base))
        .body(body);
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        response = response.header(name, value);
    }
    // Streamed through (the live log tail is a stream), each chunk recorded as it passes.
    let recorded = Arc::clone(&up.recorded);
    let stream = answer.bytes_stream().map(move |chunk| {
        if let Ok(bytes) = &chunk {
            recorded.lock().unwrap().bodies.extend_from_slice(bytes);
        }
        chunk
    });
    response.body(Body::from_stream(stream)).unwrap()
}

/// chromedriver with one headless chromium session.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    pub async fn start(chromedriver: &str) -> Browser {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1440,900", "--lang=en-US", "--force-device-scale-factor=1"]
            }
        });
        let capabilities = capabilities.as_object().unwrap().clone();
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(error) if started.elapsed() < PATIENCE => {
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("chromedriver did not start: {error}"),
            }
        };
        Browser { client, driver }
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Changes the page's hash route (no reload).
    pub async fn route(&self, hash: &str) {
        self.script(&format!("location.hash = {}", json!(hash)), vec![])
            .await;
    }

    pub async fn script(&self, code: &str, args: Vec<Value>) -> Value {
        self.client.execute(code, args).await.unwrap()
    }

    /// The first element matching `css` once it exists.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    /// Waits until the text of the first element matching `css` contains `text`; returns it.
    pub async fn wait_text(&self, css: &str, text: &str) -> String {
        let started = Instant::now();
        loop {
            let now = self
                .script(
                    "const el = document.querySelector(arguments[0]); return el ? el.innerText : null",
                    vec![json!(css)],
                )
                .await;
            if let Some(now) = now.as_str().filter(|t| t.contains(text)) {
                return now.to_owned();
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css} never showed {text:?}; it shows {now}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types into the input matching `css` (its current value replaced).
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    /// Types into the last input matching `css` (a row just added), its value replaced.
    pub async fn fill_last(&self, css: &str, text: &str) {
        self.find(css).await;
        let inputs = self.client.find_all(Locator::Css(css)).await.unwrap();
        let input = inputs.last().unwrap();
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    /// Accepts the confirmation dialog the page opened (`confirm()`), once it is open.
    pub async fn accept_dialog(&self) {
        let started = Instant::now();
        while self.client.accept_alert().await.is_err() {
            assert!(started.elapsed() < PATIENCE, "no dialog opened");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Clicks the button whose text is `label`.
    pub async fn button(&self, label: &str) {
        let xpath = format!("//button[normalize-space(.)={}]", json!(label));
        let button = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {label:?}: {e}"));
        button.click().await.unwrap();
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("{css} has no option {value}: {e}"));
    }

    /// Drags the element matching `from` onto the one matching `to` with the mouse (WebDriver
    /// pointer actions: press, move in steps, release), as a person does; the page sees the
    /// browser's own drag and drop events.
    pub async fn drag(&self, from: &str, to: &str) {
        let (from, to) = (self.find(from).await, self.find(to).await);
        let step = Some(Duration::from_millis(100));
        let pause = Duration::from_millis(100);
        let mouse = MouseActions::new("mouse".to_owned())
            .then(PointerAction::MoveToElement {
                element: from,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .pause(pause)
            // The browser starts a drag once the pointer moved a few pixels while pressed.
            .then(PointerAction::MoveBy {
                duration: step,
                x: 0.0,
                y: -8.0,
            })
            .then(PointerAction::MoveBy {
                duration: step,
                x: 0.0,
                y: -16.0,
            })
            .then(PointerAction::MoveToElement {
                element: to.clone(),
                duration: step,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::MoveToElement {
                element: to,
                duration: step,
                x: 0.0,
                y: 2.0,
            })
            .pause(pause)
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client.perform_actions(mouse).await.unwrap();
        self.client.release_actions().await.unwrap();
    }

    /// Clicks the button inside the element that `xpath` finds.
    pub async fn click_xpath(&self, xpath: &str) {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::XPath(xpath))
            .await
            .unwrap_or_else(|e| panic!("nothing at {xpath}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Replaces the code editor's text as a person would: select all (Ctrl+A), then paste.
    pub async fn set_code(&self, code: &str) {
        let content = self.find(".cm-content").await;
        content.click().await.unwrap();
        content
            .send_keys(&format!("{}a", Key::Control))
            .await
            .unwrap();
        self.script(
            "const data = new DataTransfer();
             data.setData('text/plain', arguments[0]);
             document.querySelector('.cm-content').dispatchEvent(
                 new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));",
            vec![json!(code)],
        )
        .await;
        let started = Instant::now();
        loop {
            let now = self.code().await;
            if now == code {
                break;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the editor never took the code; it has:\n{now}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The code editor's text.
    pub async fn code(&self) -> String {
        let lines = self
            .script(
                "return [...document.querySelectorAll('.cm-content .cm-line')].map(l => l.textContent).join('\\n')",
                vec![],
            )
            .await;
        lines.as_str().unwrap_or_default().to_owned()
    }

    /// Presses `keys` in the focused editor (e.g. Ctrl+S).
    pub async fn keys_in_editor(&self, keys: &str) {
        self.find(".cm-content")
            .await
            .send_keys(keys)
            .await
            .unwrap();
    }

    /// The page's whole DOM as HTML.
    pub async fn html(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// A PNG of the window into `dir/name.png`, when `dir` is given.
    pub async fn screenshot(&self, dir: Option<&std::path::Path>, name: &str) {
        if let Some(dir) = dir {
            // A passing toast is not part of the page: wait until it is gone, and faded out.
            let started = Instant::now();
            let toast = "return document.querySelector('.toast-show') !== null";
            if self.script(toast, vec![]).await == json!(true) {
                while self.script(toast, vec![]).await == json!(true)
                    && started.elapsed() < PATIENCE
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            self.script("window.scrollTo(0, 0)", vec![]).await;
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }
}
