//! Ops behind the web globals of our own: random UUIDs and bytes (`crypto.randomUUID`,
//! `crypto.getRandomValues`).
#![allow(unsafe_code)]

use deno_core::op2;

#[op2]
#[string]
pub(super) fn op_af_random_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[op2(fast)]
pub(super) fn op_af_random_fill(#[buffer] buf: &mut [u8]) {
    rand::fill(buf);
}
