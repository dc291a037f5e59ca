# Sourced by scripts: selects the toolchain that builds wasm32 (see
# scripts/wasm-toolchain.sh) through RUSTUP_TOOLCHAIN: rustup's own when it
# has the wasm32 target and the library source, else Debian's.
if [ -n "${WEFT_FORCE_DEBIAN_WASM:-}" ] ||
   ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown ||
   ! rustup component list --installed 2>/dev/null | grep -qx rust-src; then
  export RUSTUP_TOOLCHAIN="${WEFT_WASM_TOOLCHAIN_NAME:-weft-wasm}"
fi
