#!/usr/bin/env bash
# Makes a Rust toolchain that can build for wasm32-unknown-unknown available,
# idempotently, with the source of its standard library (the npm package's
# build compiles the library itself: see web/scripts/build.mjs). Where
# `rustup target add` and `rustup component add rust-src` work, that is all.
# Where they cannot download (these machines reach only the package
# registries), Debian's rustc-web toolchain is used, with its library source
# from rust-web-src, a wasm32 standard library built once from it and
# installed into its sysroot, and registered with rustup as the toolchain
# named in WEFT_WASM_TOOLCHAIN_NAME.
#
# Prints nothing but progress; scripts/wasm-env.sh tells others which
# toolchain to use.
set -euo pipefail
name="${WEFT_WASM_TOOLCHAIN_NAME:-weft-wasm}"
target=wasm32-unknown-unknown

force_debian="${WEFT_FORCE_DEBIAN_WASM:-}"   # set to test the Debian route
if [ -z "$force_debian" ] && rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  if rustup component list --installed 2>/dev/null | grep -qx rust-src; then
    echo "rustup toolchain already has $target and rust-src"
    exit 0
  fi
  if timeout 60 rustup component add rust-src >/dev/null 2>&1; then
    echo "installed rust-src with rustup"
    exit 0
  fi
fi
if rustup toolchain list 2>/dev/null | grep -q "^$name" &&
   ls /usr/lib/rustlib/$target/lib/libstd-*.rlib >/dev/null 2>&1 &&
   command -v rust-lld >/dev/null; then
  echo "toolchain $name with $target already set up"
  exit 0
fi
if [ -z "$force_debian" ] && timeout 25 rustup target add "$target" >/dev/null 2>&1 &&
   timeout 60 rustup component add rust-src >/dev/null 2>&1; then
  echo "installed $target and rust-src with rustup"
  exit 0
fi

echo "rustup cannot download $target here: using Debian's rustc-web"
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s rustc-web cargo-web rust-web-src lld-19 >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq rustc-web cargo-web rust-web-src lld-19 >/dev/null
fi
if ! command -v rust-lld >/dev/null; then
  ln -sf /usr/lib/llvm-19/bin/lld /usr/local/bin/rust-lld
fi
sysroot_lib=/usr/lib/rustlib/$target/lib
if ! ls "$sysroot_lib"/libstd-*.rlib >/dev/null 2>&1; then
  work=$(mktemp -d)
  mkdir -p "$work/src"
  printf '[package]\nname = "stdbuild"\nversion = "0.0.0"\nedition = "2021"\n[workspace]\n' > "$work/Cargo.toml"
  echo "" > "$work/src/lib.rs"
  (cd "$work" && RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc /usr/bin/cargo build -q --release --target "$target" \
     -Zbuild-std=std,panic_abort,panic_unwind,test,proc_macro)
  mkdir -p "$sysroot_lib"
  for f in "$work/target/$target/release/deps"/lib*.rlib; do
    case "$(basename "$f")" in libstdbuild-*) ;; *) cp "$f" "$sysroot_lib/" ;; esac
  done
  rm -rf "$work"
fi
if ! rustup toolchain list | grep -q "^$name"; then
  rustup toolchain link "$name" /usr
fi
echo "toolchain $name builds $target"
