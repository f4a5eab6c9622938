# Source this before building on a machine without access to V8's download host:
#   . scripts/env.sh
# It points the `v8` crate at the prebuilt library in ../shared/v8 when that folder exists, and keeps the
# build cache outside the checkout so fresh clones (and CI) reuse it. A machine with internet needs none of it.
_af_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
if [ -d "$_af_root/../shared/v8" ]; then
  _af_v8="$(cd "$_af_root/../shared/v8" && pwd)"
  export RUSTY_V8_ARCHIVE="$_af_v8/librusty_v8_simdutf_release_x86_64-unknown-linux-gnu.a.gz"
  export RUSTY_V8_SRC_BINDING_PATH="$_af_v8/src_binding_simdutf_release_x86_64-unknown-linux-gnu.rs"
fi
# Incremental compilation keeps gigabytes per crate for little gain with V8-sized dependencies.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/actionflow/target}"
unset _af_root _af_v8
