# Sourced by scripts: selects the toolchain that builds wasm32 (see
# scripts/wasm-toolchain.sh) through RUSTUP_TOOLCHAIN.
if [ -n "${WEFT_FORCE_DEBIAN_WASM:-}" ] || ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  export RUSTUP_TOOLCHAIN="${WEFT_WASM_TOOLCHAIN_NAME:-weft-wasm}"
fi
