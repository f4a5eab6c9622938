//! Loading an action into its isolate: CommonJS first, and a retry as an ES module when the source uses
//! syntax only modules allow. Its top-level code runs here, under the execution's deadline.

use super::{ActionIsolate, LoadFailure};
use crate::errors::{action_error, from_js_error, looks_like_esm};
use crate::modules::ACTION_URL;
use crate::outcome::Status;
use deno_core::{v8, ModuleSpecifier, PollEventLoopOptions};
use std::time::Instant;
use tokio::time::timeout_at;

impl ActionIsolate {
    /// Loads the action: CommonJS first; a syntax error that only ES modules allow retries it as an ES module.
    pub async fn load(&mut self, code: &str, deadline: Instant) -> Result<(), LoadFailure> {
        let wrapped =
            format!("(function (exports, require, module, __filename, __dirname) {{ {code}\n}})");
        match self.js.execute_script(ACTION_URL, wrapped) {
            Ok(function) => {
                let call = self.js.call_with_args(&self.set_common_js, &[function]);
                let ran = timeout_at(
                    deadline.into(),
                    self.js
                        .with_event_loop_promise(call, PollEventLoopOptions::default()),
                )
                .await;
                self.settle(ran, Status::InvalidCode).map(|_| ())
            }
            Err(e) if looks_like_esm(&e) => self.load_esm(code, deadline).await,
            Err(e) => Err(self
                .stopped(false)
                .unwrap_or((Status::InvalidCode, from_js_error(&e)))),
        }
    }

    async fn load_esm(&mut self, code: &str, deadline: Instant) -> Result<(), LoadFailure> {
        let invalid = |e: &dyn std::fmt::Display| {
            (
                Status::InvalidCode,
                action_error("SyntaxError", &e.to_string()),
            )
        };
        let specifier = ModuleSpecifier::parse(ACTION_URL).map_err(|e| invalid(&e))?;
        let id = match self
            .js
            .load_main_es_module_from_code(&specifier, code.to_owned())
            .await
        {
            Ok(id) => id,
            Err(e) => return Err((Status::InvalidCode, crate::errors::from_core_error(&e))),
        };
        let evaluation = self.js.mod_evaluate(id);
        let ran = timeout_at(
            deadline.into(),
            self.js
                .with_event_loop_future(evaluation, PollEventLoopOptions::default()),
        )
        .await;
        self.settle(ran, Status::InvalidCode)?;
        let namespace = self.js.get_module_namespace(id).map_err(|e| invalid(&e))?;
        let namespace: v8::Global<v8::Value> = {
            deno_core::scope!(scope, &mut self.js);
            let local: v8::Local<v8::Value> = v8::Local::new(scope, namespace).into();
            v8::Global::new(scope, local)
        };
        let call = self.js.call_with_args(&self.set_module, &[namespace]);
        self.js
            .with_event_loop_promise(call, PollEventLoopOptions::default())
            .await
            .map(|_| ())
            .map_err(|e| (Status::InvalidCode, crate::errors::from_core_error(&e)))
    }
}
